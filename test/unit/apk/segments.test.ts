/**
 * APKINDEX.tar.gz's index member gzip'd in segments (docs/formats/apk.md#segmented-compression):
 * still ONE gzip member (the independent reader splits members), holding exactly the tar the
 * whole-archive build wrote (DESCRIPTION, then APKINDEX as one contiguous entry, then
 * end-of-archive), listed by bsdtar; a cold memo builds the same bytes; one more package
 * changes the compressed bytes of the header segment (it holds the text's size) and of one run
 * of records only; the signature still covers the assembled member.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import type { EntryRow } from '../../../src/core/provider';
import { forgetGzipSegments } from '../../../src/util/segmented-gzip';
import { writeTar } from '../../../src/util/tar-writer';
import { apkProvider } from '../../../providers/apk';
import { indexSegments, unsignedIndex } from '../../../providers/apk/index-builder';
import { changedBytes } from '../../helpers/segments';
import { gzipMembers, opensslVerify, parseApkindex, readIndex, tarItems } from './apk-index-reader';
import { publishContext, rsaKey, signerOf } from './helpers';

/** A record as apk's writer orders it; every 20th package noarch (listed with A: rewritten). */
function row(id: number, name: string, arch = id % 20 === 0 ? 'noarch' : 'x86_64'): EntryRow {
  const entry = `C:Q1${Buffer.from(name).toString('base64').padEnd(27, 'A')}=\nP:${name}\nV:1.0-r0\nA:${arch}\nS:${1000 + id}\nI:${4096 + id}\nT:${name}: Grüße ✓\nU:https://example.org/${name}\nL:MIT\nD:musl so:lib${id % 97}.so.1\np:cmd:${name}=1.0-r0\n`;
  return { id, name, version: '1.0-r0', arch, filename: `${name}-1.0-r0.apk`, path: `main/${arch}/${name}-1.0-r0.apk`, partition: `main/${arch}`, entry, meta: {}, size: 1000 + id, hashes: { sha256: '0'.repeat(64) }, createdAt: new Date(0), yanked: null };
}

const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => row(i + 1, `pkg${String(i).padStart(4, '0')}`));

/** The tar the whole-archive build gzip'd (rows already in name order here). */
function wholeTar(rows: EntryRow[], description: string): Buffer {
  const text = rows.map((r) => r.entry.replace(/^A:noarch$/m, 'A:x86_64') + '\n').join('');
  return writeTar([
    { name: 'DESCRIPTION', data: Buffer.from(description), mtime: new Date(0) },
    { name: 'APKINDEX', data: Buffer.from(text), mtime: new Date(0) },
  ]);
}

test('the index member is one gzip member of the same tar as before, of several deflate segments, read by bsdtar', async () => {
  const rows = rowsOf(500);
  const segments = indexSegments('test main', [...rows].reverse(), 'x86_64', 20);
  assert.ok(segments.length > 10, 'several segments');
  const u = await unsignedIndex('test main', [...rows].reverse(), 'x86_64', 20);
  const tar = wholeTar(rows, 'test main');
  const members = gzipMembers(u);
  assert.equal(members.length, 1, 'one member');
  assert.ok(members[0]!.data.equals(tar), 'the plain tar is unchanged');
  assert.ok(!zlib.gzipSync(tar, { level: 9 }).equals(u), 'compressed in segments, not whole');
  const { items, zeroBlocksAt } = tarItems(members[0]!.data);
  assert.deepEqual(items.map((i) => i.name), ['DESCRIPTION', 'APKINDEX']);
  assert.equal(parseApkindex(items[1]!.data.toString()).length, 500);
  assert.equal(zeroBlocksAt, tar.length - 1024, 'end-of-archive after the padded text');
  assert.deepEqual(execFileSync('bsdtar', ['-tzf', '-'], { input: u }).toString().trim().split('\n'), ['DESCRIPTION', 'APKINDEX']);
});

test('the served file: signature member over the assembled index member, verified by openssl', async () => {
  const key = rsaKey('alpine-test-00000001.rsa.pub');
  const files = await apkProvider.buildIndex(publishContext('main/x86_64', rowsOf(300), signerOf([key])));
  const idx = readIndex(files[0]!.data);
  assert.equal(gzipMembers(files[0]!.data).length, 2, 'signature member, then one index member');
  assert.ok(idx.unsigned.equals(await unsignedIndex('alpine-test main', rowsOf(300), 'x86_64')));
  const v = opensslVerify(key.publicKeyPem, idx.signatures[0]!.signature, idx.unsigned);
  assert.ok(v.ok, v.output);
  assert.equal(idx.records.length, 300);
});

test('a cold memo builds the same bytes; one more package recompresses the header and one run only', async () => {
  const rows = rowsOf(400);
  const first = await unsignedIndex('d', rows, 'x86_64', 20);
  forgetGzipSegments();
  assert.ok(first.equals(await unsignedIndex('d', rows.map((r) => ({ ...r })), 'x86_64', 20)), 'same bytes from a cold memo');

  const added = row(999, 'pkg0100a', 'x86_64');
  const plus = [...rows, added];
  const after = await unsignedIndex('d', plus, 'x86_64', 20);
  assert.ok(zlib.gunzipSync(after).equals(wholeTar([...rows.slice(0, 101), added, ...rows.slice(101)], 'd')));
  const before = indexSegments('d', rows, 'x86_64', 20);
  const now = indexSegments('d', plus, 'x86_64', 20);
  assert.equal(now.length, before.length, 'the new name starts no segment of its own');
  // The header (APKINDEX's size), the run holding the new package, and the last (the padding's length).
  const differing = now.map((s, j) => !s.equals(before[j]!)).reduce((n, d) => n + Number(d), 0);
  assert.equal(differing, 3);
  const { prefix, suffix, changed } = await changedBytes({ gz: first, first: before[0], last: before.at(-1) }, { gz: after, first: now[0], last: now.at(-1) }, 9);
  assert.ok(prefix > after.length / 10 && suffix > after.length / 2, `shared compressed bytes before (${prefix}) and after (${suffix}) the change`);
  assert.ok(changed < after.length / 8, `${changed} of ${after.length} bytes compressed anew`);
});

test('an empty architecture gets a valid index with an empty APKINDEX', async () => {
  const u = await unsignedIndex('d', [], 'x86_64');
  assert.ok(zlib.gunzipSync(u).equals(wholeTar([], 'd')));
});
