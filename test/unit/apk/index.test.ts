/**
 * buildIndex(): the served APKINDEX.tar.gz read back by the independent reader
 * (apk-index-reader.ts), signatures verified by the real `openssl dgst -sha256 -verify`,
 * C:/S: recomputed from the package bytes, and the archive listed by GNU tar.
 */
import { parseRendered } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { apkProvider } from '../../../providers/apk';
import type { EntryRow, RsaSigner } from '../../../src/core/provider';
import { buildApk, END_OF_ARCHIVE, gzip, pkginfoFor } from './apk-builder';
import { opensslVerify, packageChecksum, readIndex } from './apk-index-reader';
import { publishContext, rowOf, rsaKey, signerOf, tempDir, uploadOf } from './helpers';

const dir = tempDir();
const key1 = rsaKey('alpine-test-00000001.rsa.pub');
const key2 = rsaKey('alpine-test-00000002.rsa.pub');

/** Uploaded out of order on purpose. */
const uploads: Array<[string, string, string]> = [
  ['hello', '1.0-r1', 'x86_64'],
  ['zlib', '1.3-r0', 'x86_64'],
  ['hello', '1.0_rc1-r0', 'x86_64'],
  ['docs', '2.1-r0', 'noarch'],
  ['hello', '1.0-r0', 'x86_64'],
  ['hello', '1.0-r0', 'aarch64'],
  ['docs', '2.0-r0', 'noarch'],
];

const bytesByPath = new Map<string, Buffer>();
let rows: EntryRow[] = [];

async function setup(): Promise<EntryRow[]> {
  if (rows.length) return rows;
  for (const [name, version, arch] of uploads) {
    const bytes = buildApk({ pkginfo: pkginfoFor(name, version, arch, [['depend', 'musl']]) }).bytes;
    const input = uploadOf(dir, `${name}-${version}-${arch}.apk`, bytes);
    const p = await parseRendered(apkProvider, input);
    bytesByPath.set(p.path, bytes);
    rows.push(rowOf(p, input));
  }
  return rows;
}

async function build(scope: string, keys: RsaSigner[], settings: Record<string, unknown> = {}) {
  const files = await apkProvider.buildIndex(publishContext(scope, await setup(), signerOf(keys), settings));
  assert.equal(files.length, 1);
  assert.equal(files[0]!.path, `${scope}/APKINDEX.tar.gz`);
  assert.equal(files[0]!.contentType, 'application/gzip');
  return files[0]!.data;
}

/** The package file apk would download for a record: <branch>/<A:>/<P>-<V>.apk, with the noarch fallback. */
function packageBytes(branch: string, rec: Map<string, string>): Buffer {
  const p = `${branch}/${rec.get('A')}/${rec.get('P')}-${rec.get('V')}.apk`;
  const direct = bytesByPath.get(p);
  if (direct) return direct;
  const fallback = apkProvider.fallbackPaths!(p);
  assert.equal(fallback.length, 1, `no fallback for ${p}`);
  const b = bytesByPath.get(fallback[0]!);
  assert.ok(b, `nothing stored at ${p} or ${fallback[0]}`);
  return b;
}

const WRITER_ORDER = 'CPVASITULomtckDpi';

test('x86_64 index: signed, every version listed in apk order, C:/S: match the package bytes, noarch rewritten', async () => {
  const data = await build('main/x86_64', [key1]);
  const idx = readIndex(data);
  assert.equal(idx.signatures.length, 1);
  assert.equal(idx.signatures[0]!.entryName, `.SIGN.RSA256.${key1.keyName}`);
  // 2048-bit key: a 256-byte signature, padded to one block after its header, no end blocks
  assert.equal(idx.signatures[0]!.signature.length, 256);
  assert.equal(idx.signatureTar!.length, 1024);
  const v = opensslVerify(key1.publicKeyPem, idx.signatures[0]!.signature, idx.unsigned);
  assert.ok(v.ok, v.output);
  assert.equal(idx.description, 'alpine-test main');
  assert.deepEqual(
    idx.records.map((r) => `${r.get('P')}-${r.get('V')}`),
    ['docs-2.0-r0', 'docs-2.1-r0', 'hello-1.0_rc1-r0', 'hello-1.0-r0', 'hello-1.0-r1', 'zlib-1.3-r0'],
  );
  for (const rec of idx.records) {
    assert.equal(rec.get('A'), 'x86_64');
    const pkg = packageBytes('main', rec);
    assert.equal(rec.get('C'), packageChecksum(pkg));
    assert.equal(rec.get('S'), String(pkg.length));
    assert.equal(rec.get('D'), 'musl');
    const letters = [...rec.keys()].join('');
    assert.equal(letters, [...WRITER_ORDER].filter((l) => rec.has(l)).join(''), `field order ${letters}`);
  }
});

test('aarch64 index lists its own packages plus noarch with A:aarch64', async () => {
  const idx = readIndex(await build('main/aarch64', [key1]));
  assert.deepEqual(
    idx.records.map((r) => `${r.get('P')}-${r.get('V')}-${r.get('A')}`),
    ['docs-2.0-r0-aarch64', 'docs-2.1-r0-aarch64', 'hello-1.0-r0-aarch64'],
  );
  for (const rec of idx.records) assert.equal(rec.get('C'), packageChecksum(packageBytes('main', rec)));
});

test('key rotation: two .SIGN.RSA256 entries, each verified by openssl with its own key only', async () => {
  const data = await build('main/x86_64', [key1, key2]);
  const idx = readIndex(data);
  assert.deepEqual(
    idx.signatures.map((s) => s.entryName),
    [`.SIGN.RSA256.${key1.keyName}`, `.SIGN.RSA256.${key2.keyName}`],
  );
  assert.equal(idx.signatureTar!.length, 2048);
  const [s1, s2] = idx.signatures;
  assert.ok(opensslVerify(key1.publicKeyPem, s1!.signature, idx.unsigned).ok);
  assert.ok(opensslVerify(key2.publicKeyPem, s2!.signature, idx.unsigned).ok);
  // negative control: the other key does not verify, nor does a changed index
  assert.equal(opensslVerify(key2.publicKeyPem, s1!.signature, idx.unsigned).ok, false);
  const tampered = Buffer.from(idx.unsigned);
  tampered[20]! ^= 1;
  assert.equal(opensslVerify(key1.publicKeyPem, s1!.signature, tampered).ok, false);
});

test('GNU tar reads the served file as one archive: signature, DESCRIPTION, APKINDEX', async () => {
  const data = await build('main/x86_64', [key1]);
  const file = path.join(dir, 'APKINDEX.tar.gz');
  fs.writeFileSync(file, data);
  const list = spawnSync('tar', ['-tzf', file], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(list.stdout.trim().split('\n'), [`.SIGN.RSA256.${key1.keyName}`, 'DESCRIPTION', 'APKINDEX']);
  const text = spawnSync('tar', ['-xzOf', file, 'APKINDEX'], { encoding: 'utf8' });
  assert.equal(text.stdout, readIndex(data).apkindex);
});

test('unsigned when the repository has no RSA key; output is deterministic', async () => {
  const a = await build('main/x86_64', []);
  const idx = readIndex(a);
  assert.equal(idx.signatures.length, 0);
  assert.equal(idx.unsigned.length, a.length);
  assert.deepEqual(await build('main/x86_64', [key1]), await build('main/x86_64', [key1]));
});

test('DESCRIPTION comes from settings and is cut to 160 bytes', async () => {
  const idx = readIndex(await build('main/x86_64', [], { description: 'é'.repeat(100) }));
  assert.equal(idx.description, 'é'.repeat(80));
  assert.ok(Buffer.byteLength(idx.description!) <= 160);
});

test('scopesFor: a noarch partition goes to every architecture of its branch', async () => {
  const ctx = publishContext('main/x86_64', await setup(), signerOf([]), { arches: ['armv7', '../bad'] });
  assert.deepEqual(await apkProvider.scopesFor('main/x86_64', ctx), ['main/x86_64']);
  assert.deepEqual(await apkProvider.scopesFor('main/noarch', ctx), ['main/aarch64', 'main/armv7', 'main/x86_64']);
  // a branch with no packages yet gets the configured architectures only (APK_ARCHES=armv7 must not publish x86_64)
  assert.deepEqual(await apkProvider.scopesFor('v3.20/main/noarch', ctx), ['v3.20/main/armv7']);
  // with no arches setting at all (the server always fills in APK_ARCHES), the built-in defaults
  const bare = publishContext('main/x86_64', await setup(), signerOf([]), {});
  assert.deepEqual(await apkProvider.scopesFor('v3.20/main/noarch', bare), ['v3.20/main/aarch64', 'v3.20/main/x86_64']);
});

test('the reader is strict: end-of-archive blocks or missing padding in the signature tar are caught', async () => {
  const idx = readIndex(await build('main/x86_64', [key1]));
  const withEnd = Buffer.concat([gzip(Buffer.concat([idx.signatureTar!, END_OF_ARCHIVE])), idx.unsigned]);
  assert.throws(() => readIndex(withEnd), /end-of-archive/);
  const unpadded = Buffer.concat([gzip(idx.signatureTar!.subarray(0, 512 + 256)), idx.unsigned]);
  assert.throws(() => readIndex(unpadded), /512-byte blocks/);
});
