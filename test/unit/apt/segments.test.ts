import { test, before } from 'node:test';
import { keyedOf } from '../../helpers/keyed-entries';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { buildAptIndex } from '../../../providers/apt/index-builder';
import { forgetSegments, segmentStarts } from '../../../providers/apt/segments';
import type { EntryRow, IndexFile, PublishContext, RepoInfo } from '../../../src/core/provider';
import { makeSigner, tmpDir, type TestKey } from './helpers';

let key: TestKey;
before(async () => {
  key = await makeSigner();
});

function row(id: number, name: string, version = '1.0-1', arch = 'amd64'): EntryRow {
  const h = crypto.createHash('sha512').update(`${name} ${version}`).digest('hex');
  const entry = `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nDescription: test ${name}\nFilename: pool/main/${name[0]}/${name}/${name}_${version}_${arch}.deb\nSize: 100\nSHA256: ${h.slice(0, 64)}\n`;
  return { id, name, version, arch, filename: `${name}_${version}_${arch}.deb`, path: `pool/x/${name}.deb`, partition: 'stable/main', entry, meta: {}, size: 100, hashes: { sha256: h.slice(0, 64) }, createdAt: new Date(0), yanked: null };
}

const names = (n: number, prefix = 'pkg') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

async function build(rows: EntryRow[], settings: Record<string, unknown>): Promise<IndexFile[]> {
  const repo: RepoInfo = { id: 1, provider: 'apt', name: 'seg', settings };
  const ctx: PublishContext = { repo, scope: 'dists/stable', now: new Date('2026-12-01T00:00:00Z'), signer: key.signer, partitions: async () => ['stable/main'], entries: async () => rows };
  return buildAptIndex(ctx);
}

const get = (files: IndexFile[], p: string) => files.find((f) => f.path === p)?.data;

test('segment boundaries depend on the names only: one added package changes at most the segments around it', () => {
  const before = names(2000);
  const starts = segmentStarts(before, 16).map((i) => before[i]);
  assert.ok(starts.length > 60 && starts.length < 200, `about 2000/16 segments (${starts.length})`);
  const after = [...before, 'pkg0999a'].sort();
  const startsAfter = segmentStarts(after, 16).map((i) => after[i]);
  // Every boundary name of before is still one, and at most one boundary is new.
  assert.deepEqual(startsAfter.filter((n) => n !== 'pkg0999a'), starts);
  // Several versions of one package never straddle a boundary.
  const versions = ['a', 'b', 'b', 'b', 'c', 'c'];
  for (const k of [1, 2, 3]) for (const s of segmentStarts(versions, k)) assert.ok(s === 0 || versions[s] !== versions[s - 1]);
});

test('a large Packages is one gzip member and one xz stream of several blocks, decompressing to the stanzas', async () => {
  const rows = names(600).map((n, i) => row(i + 1, n));
  const files = await build(rows, { segmentAboveBytes: 0, segmentPackages: 20, arches: ['amd64'] });
  const base = 'dists/stable/main/binary-amd64';
  assert.equal(get(files, `${base}/Packages`), undefined, 'the plain Packages is not published above the threshold');
  const release = get(files, 'dists/stable/Release')!.toString();
  // ... but listed in Release with the digests of the decompressed bytes (apt needs the entry, docs/formats/apt.md#segmented-compression).
  const plainSha = crypto.createHash('sha256').update(rows.map((r) => r.entry + '\n').join('')).digest('hex');
  assert.match(release, new RegExp(`SHA256:[^]* ${plainSha} +\\d+ main/binary-amd64/Packages\n`));
  const gz = get(files, `${base}/Packages.gz`)!;
  const xz = get(files, `${base}/Packages.xz`)!;
  const expected = rows.map((r) => r.entry + '\n').join('');
  const dir = tmpDir('apt-seg-');
  fs.writeFileSync(path.join(dir, 'P.gz'), gz);
  fs.writeFileSync(path.join(dir, 'P.xz'), xz);
  // The real tools: gzip -dc and xz -dc read the files back exactly.
  assert.equal(execFileSync('gzip', ['-dc', path.join(dir, 'P.gz')]).toString(), expected);
  assert.equal(execFileSync('xz', ['-dc', path.join(dir, 'P.xz')]).toString(), expected);
  // One xz stream (apt reads only the first one), of many blocks.
  const totals = execFileSync('xz', ['--robot', '--list', path.join(dir, 'P.xz')]).toString().split('\n').find((l) => l.startsWith('totals'))!.split('\t');
  assert.equal(totals[1], '1', 'one stream');
  assert.ok(Number(totals[2]) > 10, `several blocks (${totals[2]})`);
  // One gzip member: its trailer's length is the whole text's (a second member would end with its own).
  assert.equal(gz.readUInt32LE(gz.length - 4), Buffer.byteLength(expected));
  assert.equal(zlib.inflateRawSync(gz.subarray(10, gz.length - 8)).toString(), expected, 'one deflate stream up to the trailer');
  // Release names the bytes served.
  const sha = crypto.createHash('sha256').update(xz).digest('hex');
  assert.match(release, new RegExp(` ${sha} +${xz.length} main/binary-amd64/Packages\\.xz\\n`));
  assert.ok(get(files, `${base}/by-hash/SHA256/${sha}`));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('segmented files are the same bytes whether built from a warm or a cold cache, and change only locally', async () => {
  const rows = names(400).map((n, i) => row(i + 1, n));
  const settings = { segmentAboveBytes: 0, segmentPackages: 10, arches: ['amd64'] };
  const first = get(await build(rows, settings), 'dists/stable/main/binary-amd64/Packages.xz')!;
  forgetSegments();
  const again = get(await build(rows.map((r) => ({ ...r })), settings), 'dists/stable/main/binary-amd64/Packages.xz')!;
  assert.ok(first.equals(again));
  const plus = get(await build([...rows, row(999, 'pkg0200a')], settings), 'dists/stable/main/binary-amd64/Packages.xz')!;
  assert.ok(!plus.equals(first));
  assert.match(execFileSync('xz', ['-dc'], { input: plus }).toString(), /^Package: pkg0200a$/m);
});

test('a small Packages of one segment is published plain and compressed whole', async () => {
  const rows = names(50).map((n, i) => row(i + 1, n));
  const files = await build(rows, { arches: ['amd64'], segmentPackages: 1_000_000 });
  const plain = get(files, 'dists/stable/main/binary-amd64/Packages')!;
  assert.equal(plain.toString(), rows.map((r) => r.entry + '\n').join(''));
  assert.ok(zlib.gzipSync(plain, { level: 9 }).equals(get(files, 'dists/stable/main/binary-amd64/Packages.gz')!));
  assert.ok(execFileSync('xz', ['-dc'], { input: get(files, 'dists/stable/main/binary-amd64/Packages.xz')! }).equals(plain));
});

test('a small Packages of several segments is published plain and compressed per segment', async () => {
  const rows = names(300).map((n, i) => row(i + 1, n));
  const settings = { arches: ['amd64'], segmentPackages: 20 };
  const files = await build(rows, settings);
  const base = 'dists/stable/main/binary-amd64';
  const plain = get(files, `${base}/Packages`)!;
  assert.equal(plain.toString(), rows.map((r) => r.entry + '\n').join(''), 'the plain file is published below the threshold');
  const gz = get(files, `${base}/Packages.gz`)!;
  const xz = get(files, `${base}/Packages.xz`)!;
  assert.ok(!zlib.gzipSync(plain, { level: 9 }).equals(gz), 'not the whole-file gzip');
  assert.ok(execFileSync('gzip', ['-dc'], { input: gz }).equals(plain));
  assert.ok(execFileSync('xz', ['-dc'], { input: xz }).equals(plain));
  const xzFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'apt-seg-')), 'Packages.xz');
  fs.writeFileSync(xzFile, xz); // xz --list reads files only
  const totals = execFileSync('xz', ['--robot', '--list', xzFile]).toString().split('\n').find((l) => l.startsWith('totals'))!.split('\t');
  assert.ok(Number(totals[2]) > 1, `one xz block per segment (${totals[2]})`);
  fs.rmSync(path.dirname(xzFile), { recursive: true, force: true });
  // A cold process builds the same bytes.
  forgetSegments();
  assert.ok(get(await build(rows.map((r) => ({ ...r })), settings), `${base}/Packages.xz`)!.equals(xz));
});

test('keys first, the builder reads the stanzas by id, a window at a time, and builds the same files', async () => {
  const rows = names(700).map((n, i) => row(i + 1, n, '1.0-1', i % 9 === 0 ? 'all' : 'amd64'));
  const settings = { segmentAboveBytes: 20_000, segmentPackages: 10, arches: ['amd64', 'arm64'] };
  const expected = await build(rows, settings);
  const keyed = keyedOf(rows.map((r) => ({ ...r, rev: 0 })));
  const asked: number[] = [];
  const byIds = keyed.byIds;
  keyed.byIds = async (ids) => (asked.push(ids.length), byIds(ids));
  const repo: RepoInfo = { id: 1, provider: 'apt', name: 'seg', settings };
  const ctx: PublishContext = {
    repo, scope: 'dists/stable', now: new Date('2026-12-01T00:00:00Z'), signer: key.signer, partitions: async () => ['stable/main'],
    entries: async () => assert.fail('a keyed build reads no whole entries'),
    keyed,
  };
  const files = await buildAptIndex(ctx);
  const bytes = (fs: IndexFile[]) => fs.filter((f) => !/InRelease|Release\.gpg/.test(f.path)).map((f) => [f.path, crypto.createHash('sha256').update(f.data).digest('hex')]);
  assert.deepEqual(bytes(files), bytes(expected));
  assert.ok(asked.length > 2 && Math.max(...asked) < rows.length, `texts read in windows (${asked.join(', ')})`);
});

test('keys first, a publish after one upload reads only the segments from the changed one on; a cold memo builds the same bytes', async () => {
  const settings = { segmentAboveBytes: 20_000, segmentPackages: 10, arches: ['amd64'] };
  const keyedBuild = async (rows: (EntryRow & { rev: number })[]) => {
    const keyed = keyedOf(rows);
    const repo: RepoInfo = { id: 1, provider: 'apt', name: 'seg', settings };
    const files = await buildAptIndex({ repo, scope: 'dists/stable', now: new Date('2026-12-01T00:00:00Z'), signer: key.signer, partitions: async () => ['stable/main'], entries: async () => assert.fail('no whole entries'), keyed });
    return { files, read: keyed.read };
  };
  const bytes = (fs: IndexFile[]) => fs.filter((f) => !/InRelease|Release\.gpg/.test(f.path)).map((f) => [f.path, crypto.createHash('sha256').update(f.data).digest('hex')]);
  forgetSegments();
  const rows = names(800).map((n, i) => ({ ...row(i + 1, n), rev: 0 }));
  assert.equal((await keyedBuild(rows)).read, 800, 'cold: every stanza read');
  // A package near the end of the name order: the segments before it are neither read nor hashed.
  const more = [...rows, { ...row(2000, 'pkg0790a'), rev: 0 }];
  const warm = await keyedBuild(more);
  assert.ok(warm.read > 0 && warm.read < 100, `only the tail was read (${warm.read} rows)`);
  assert.deepEqual(bytes(warm.files), bytes(await build(more, settings)), 'the same files as from every row');
  forgetSegments();
  const cold = await keyedBuild(more);
  assert.equal(cold.read, 801);
  assert.deepEqual(bytes(cold.files), bytes(warm.files));
  // Near the start: every later segment is hashed again for Release, but from its memoized
  // deflate part inflated, not read and rendered.
  const early = [...more, { ...row(2001, 'pkg0003a'), rev: 0 }];
  const head = await keyedBuild(early);
  assert.ok(head.read > 0 && head.read < 100, `only the changed segment was read (${head.read} rows)`);
  assert.deepEqual(bytes(head.files), bytes(await build(early, settings)), 'the same files (and Release digests) as from every row');
});

test('keys first, a small Packages of several segments is still published whole after segments were skipped', async () => {
  const settings = { segmentAboveBytes: 1 << 20, segmentPackages: 10, arches: ['amd64'] };
  const repo: RepoInfo = { id: 1, provider: 'apt', name: 'seg', settings };
  const keyedBuild = (rows: (EntryRow & { rev: number })[]) =>
    buildAptIndex({ repo, scope: 'dists/stable', now: new Date('2026-12-01T00:00:00Z'), signer: key.signer, partitions: async () => ['stable/main'], entries: async () => assert.fail('no whole entries'), keyed: keyedOf(rows) });
  const rows = names(300).map((n, i) => ({ ...row(i + 1, n), rev: 0 }));
  await keyedBuild(rows);
  const more = [...rows, { ...row(900, 'pkg0290a'), rev: 0 }];
  const files = await keyedBuild(more);
  const expected = await build(more, settings);
  for (const p of ['Packages', 'Packages.gz', 'Packages.xz']) assert.ok(get(files, `dists/stable/main/binary-amd64/${p}`)!.equals(get(expected, `dists/stable/main/binary-amd64/${p}`)!), p);
});
