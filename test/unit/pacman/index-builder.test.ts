/**
 * Publishing: the per-arch sync databases built from parsed makepkg packages, read back with
 * bsdtar (libarchive, what libalpm uses), signatures checked with gpgv, version choice checked
 * against the real `vercmp`.
 */
import { parseRendered } from '../../helpers/provider';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pacmanProvider } from '../../../providers/pacman';
import { decodeEntry } from '../../../providers/pacman/entry';
import type { EntryRow, IndexFile } from '../../../src/core/provider';
import { REPO, makeSigner, makepkg, publishContext, rowOf, tmpDir, uploaded, uploadInput, type TestSigner } from './helpers';

let dir: string;
let signer: TestSigner;
const rows: EntryRow[] = [];
let nextId = 1;

async function upload(spec: Parameters<typeof makepkg>[0]): Promise<EntryRow> {
  const file = uploaded(makepkg(spec, dir));
  const row = rowOf(await parseRendered(pacmanProvider, uploadInput(file, signer)), file, nextId++);
  rows.push(row);
  return row;
}

before(async () => {
  dir = tmpDir();
  signer = await makeSigner();
  // Upload order matters: 1.10.0 first, then the older-by-vercmp 1.2.3.
  await upload({ name: 'foo', pkgver: '1.10.0', arch: 'x86_64' });
  await upload({ name: 'foo', pkgver: '1.2.3', arch: 'x86_64' });
  await upload({ name: 'tool', pkgver: '2.0', arch: 'any' });
  await upload({ name: 'armonly', pkgver: '0.5', arch: 'aarch64' });
  await upload({ name: 'epochy', pkgver: '9.0', arch: 'any' });
  await upload({ name: 'epochy', pkgver: '1.0', epoch: '1', arch: 'any' });
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function fileOf(files: IndexFile[], p: string): IndexFile {
  const f = files.find((x) => x.path === p);
  assert.ok(f, `missing ${p}; have ${files.map((x) => x.path).join(', ')}`);
  return f;
}

function bsdtar(args: string[], data: Buffer): string {
  const p = path.join(dir, `db-${Math.random().toString(36).slice(2)}.tar.gz`);
  fs.writeFileSync(p, data);
  return execFileSync('bsdtar', [...args.slice(0, 1), p, ...args.slice(1)]).toString('utf8');
}

function gpgvOk(sig: Buffer, data: Buffer): boolean {
  const k = path.join(dir, 'key.gpg');
  fs.writeFileSync(k, signer.pgp.publicKeyBinary);
  fs.writeFileSync(path.join(dir, 'x.sig'), sig);
  fs.writeFileSync(path.join(dir, 'x'), data);
  return spawnSync('gpgv', ['--keyring', k, path.join(dir, 'x.sig'), path.join(dir, 'x')]).status === 0;
}

test('x86_64 db: newest foo by vercmp, any packages merged, no aarch64 package', async () => {
  const files = await pacmanProvider.buildIndex(publishContext('x86_64', rows, signer));
  assert.deepEqual(files.map((f) => f.path).sort(), [
    'x86_64/testrepo.db', 'x86_64/testrepo.db.sig', 'x86_64/testrepo.db.tar.gz', 'x86_64/testrepo.db.tar.gz.sig',
    'x86_64/testrepo.files', 'x86_64/testrepo.files.sig', 'x86_64/testrepo.files.tar.gz', 'x86_64/testrepo.files.tar.gz.sig',
  ]);
  const db = fileOf(files, 'x86_64/testrepo.db');
  assert.equal(db.contentType, 'application/octet-stream');
  assert.equal(fileOf(files, 'x86_64/testrepo.db.tar.gz').contentType, 'application/gzip');
  assert.equal(fileOf(files, 'x86_64/testrepo.db.sig').contentType, 'application/pgp-signature');
  assert.ok(db.data.equals(fileOf(files, 'x86_64/testrepo.db.tar.gz').data), '.db and .db.tar.gz are the same bytes');

  const listing = bsdtar(['-tf'], db.data).trim().split('\n').filter((l) => !l.endsWith('/'));
  // The real vercmp decides which foo and which epochy must win.
  assert.equal(execFileSync('vercmp', ['1.10.0-1', '1.2.3-1']).toString().trim(), '1');
  assert.equal(execFileSync('vercmp', ['1:1.0-1', '9.0-1']).toString().trim(), '1');
  assert.deepEqual(listing.sort(), ['epochy-1:1.0-1/desc', 'foo-1.10.0-1/desc', 'tool-2.0-1/desc']);

  // Each desc is the stored entry, byte for byte.
  const foo = rows.find((r) => r.name === 'foo' && r.version === '1.10.0-1')!;
  assert.equal(bsdtar(['-xOf', 'foo-1.10.0-1/desc'], db.data), decodeEntry(foo.entry).desc);

  const filesDb = fileOf(files, 'x86_64/testrepo.files');
  assert.ok(filesDb.data.equals(fileOf(files, 'x86_64/testrepo.files.tar.gz').data));
  assert.equal(bsdtar(['-xOf', 'tool-2.0-1/files'], filesDb.data), '%FILES%\nusr/\nusr/share/\nusr/share/tool/\nusr/share/tool/VERSION\n');
  assert.equal(bsdtar(['-xOf', 'tool-2.0-1/desc'], filesDb.data), bsdtar(['-xOf', 'tool-2.0-1/desc'], db.data));
});

test('signatures are binary detached signatures over the exact bytes (gpgv)', async () => {
  const files = await pacmanProvider.buildIndex(publishContext('x86_64', rows, signer));
  for (const base of ['x86_64/testrepo.db', 'x86_64/testrepo.db.tar.gz', 'x86_64/testrepo.files', 'x86_64/testrepo.files.tar.gz']) {
    const sig = fileOf(files, `${base}.sig`).data;
    assert.ok(!sig.includes('BEGIN PGP'), 'binary, not armored');
    assert.ok(gpgvOk(sig, fileOf(files, base).data), `${base}.sig verifies`);
  }
  const db = fileOf(files, 'x86_64/testrepo.db').data;
  const tampered = Buffer.from(db);
  tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 0xff;
  assert.equal(gpgvOk(fileOf(files, 'x86_64/testrepo.db.sig').data, tampered), false);
});

test('aarch64 db holds the aarch64 and any packages only', async () => {
  const files = await pacmanProvider.buildIndex(publishContext('aarch64', rows, signer));
  const listing = bsdtar(['-tf'], fileOf(files, 'aarch64/testrepo.db').data).trim().split('\n').filter((l) => !l.endsWith('/'));
  assert.deepEqual(listing.sort(), ['armonly-0.5-1/desc', 'epochy-1:1.0-1/desc', 'tool-2.0-1/desc']);
});

test('the same rows give the same bytes; an empty scope gives an empty, valid db', async () => {
  const a = await pacmanProvider.buildIndex(publishContext('x86_64', rows, signer));
  const b = await pacmanProvider.buildIndex(publishContext('x86_64', [...rows].reverse(), signer));
  assert.ok(fileOf(a, 'x86_64/testrepo.db').data.equals(fileOf(b, 'x86_64/testrepo.db').data));
  const empty = await pacmanProvider.buildIndex(publishContext('riscv64', [], signer));
  assert.equal(bsdtar(['-tf'], fileOf(empty, 'riscv64/testrepo.db').data), '');
});

test('equal versions: the latest upload wins', async () => {
  const first = rows.find((r) => r.name === 'tool')!;
  const again = { ...first, id: 100, entry: first.entry.replace('%DESC%\\nTest package tool', '%DESC%\\nrebuilt'), createdAt: new Date(first.createdAt.getTime() + 60_000) };
  const files = await pacmanProvider.buildIndex(publishContext('x86_64', [again, ...rows], signer));
  assert.match(bsdtar(['-xOf', 'tool-2.0-1/desc'], fileOf(files, 'x86_64/testrepo.db').data), /%DESC%\nrebuilt\n/);
});

test('scopesFor: an arch maps to itself, any to every served arch', async () => {
  const ctx = (partitions: string[], settings: Record<string, unknown> = {}) => ({ repo: { ...REPO, settings }, partitions: async () => partitions });
  assert.deepEqual(await pacmanProvider.scopesFor('aarch64', ctx(['any'])), ['aarch64']);
  assert.deepEqual(await pacmanProvider.scopesFor('any', ctx([])), ['x86_64']);
  assert.deepEqual(await pacmanProvider.scopesFor('any', ctx(['any', 'aarch64', 'x86_64'])), ['aarch64', 'x86_64']);
  // The configured arches replace the default (PACMAN_ARCHES=aarch64 publishes no x86_64 db).
  assert.deepEqual(await pacmanProvider.scopesFor('any', ctx(['any'], { arches: ['riscv64', 'i686', '../bad', 7] })), ['i686', 'riscv64']);
  assert.deepEqual(await pacmanProvider.scopesFor('any', ctx(['any'], { arches: ['aarch64'] })), ['aarch64']);
});

test('compareVersions is vercmp', () => {
  assert.ok(pacmanProvider.compareVersions('1.2.3-1', '1.10.0-1') < 0);
  assert.ok(pacmanProvider.compareVersions('1:0.1-1', '9.9-1') > 0);
  assert.equal(pacmanProvider.compareVersions('1.0-1', '1.0-1'), 0);
});
