/**
 * Release digests of a segmented Packages (providers/apt/prefix-digests.ts): memoized prefix
 * states give the digests of hashing the whole file, a publish after one change hashes from
 * the first changed segment on, and a cold build's Release is a warm build's.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { buildAptIndex } from '../../../providers/apt/index-builder';
import { forgetPrefixDigests, PrefixDigests, prefixMemoSize } from '../../../providers/apt/prefix-digests';
import { forgetSegments } from '../../../providers/apt/segments';
import type { EntryRow, PublishContext, RepoInfo } from '../../../src/core/provider';
import { makeSigner, type TestKey } from './helpers';

const ALGOS = ['md5', 'sha1', 'sha256', 'sha512'];
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const whole = (parts: Buffer[]) => Object.fromEntries(ALGOS.map((a) => [a, crypto.createHash(a).update(Buffer.concat(parts)).digest('hex')]));

function digestOf(parts: Buffer[]): { result: ReturnType<PrefixDigests['finish']>; hashed: number } {
  const d = new PrefixDigests(ALGOS);
  for (const p of parts) d.add(sha256(p), p);
  return { result: d.finish(), hashed: d.hashed };
}

test('prefix states: the digests and CRC of the whole file; only segments from the first change on are hashed', () => {
  forgetPrefixDigests();
  const segs = Array.from({ length: 6 }, (_, i) => Buffer.from(`Package: p${i}\n\n`.repeat(i + 1)));
  const cold = digestOf(segs);
  assert.equal(cold.hashed, 6);
  assert.deepEqual(cold.result.digests, whole(segs));
  assert.equal(cold.result.crc, zlib.crc32(Buffer.concat(segs)));
  assert.equal(cold.result.size, Buffer.concat(segs).length);
  // Unchanged: nothing hashed, the same answer (a memoized state is never finalized).
  for (let i = 0; i < 2; i++) {
    const warm = digestOf(segs);
    assert.equal(warm.hashed, 0);
    assert.deepEqual(warm.result, cold.result);
  }
  // Segment 3 changed: segments 3, 4 and 5 are hashed.
  const changed = segs.map((s, i) => (i === 3 ? Buffer.from('Package: new\n\n') : s));
  const after = digestOf(changed);
  assert.equal(after.hashed, 3);
  assert.deepEqual(after.result.digests, whole(changed));
  assert.equal(after.result.crc, zlib.crc32(Buffer.concat(changed)));
  // A file that is a prefix of a known one, and a file with a segment added at the end.
  assert.deepEqual(digestOf(segs.slice(0, 4)).result.digests, whole(segs.slice(0, 4)));
  const longer = digestOf([...segs, Buffer.from('Package: z\n\n')]);
  assert.equal(longer.hashed, 1);
  assert.deepEqual(longer.result.digests, whole([...segs, Buffer.from('Package: z\n\n')]));
  assert.ok(prefixMemoSize() > 0);
  forgetPrefixDigests();
  assert.equal(prefixMemoSize(), 0);
});

let key: TestKey;
before(async () => {
  key = await makeSigner();
});

function row(id: number, name: string): EntryRow {
  const entry = `Package: ${name}\nVersion: 1.0-1\nArchitecture: amd64\nDescription: test ${name} ${'x'.repeat(id % 50)}\n`;
  return { id, name, version: '1.0-1', arch: 'amd64', filename: `${name}.deb`, path: `pool/${name}.deb`, partition: 'stable/main', entry, meta: {}, size: 1, hashes: { sha256: '' }, createdAt: new Date(0), yanked: null };
}

async function release(rows: EntryRow[]): Promise<string> {
  const repo: RepoInfo = { id: 1, provider: 'apt', name: 'pd', settings: { segmentAboveBytes: 0, segmentPackages: 8, arches: ['amd64'] } };
  const ctx: PublishContext = { repo, scope: 'dists/stable', now: new Date('2026-12-01T00:00:00Z'), signer: key.signer, partitions: async () => ['stable/main'], entries: async () => rows };
  return (await buildAptIndex(ctx)).find((f) => f.path === 'dists/stable/Release')!.data.toString();
}

test('a warm and a cold build give the same Release, before and after an upload', async () => {
  const rows = Array.from({ length: 300 }, (_, i) => row(i + 1, `pkg${String(i).padStart(4, '0')}`));
  forgetSegments();
  const cold = await release(rows);
  assert.equal(await release(rows), cold, 'warm = cold');
  const plus = [...rows, row(999, 'pkg0150a')];
  const warmPlus = await release(plus);
  assert.notEqual(warmPlus, cold);
  forgetSegments(); // the compression memo and the prefix states
  assert.equal(await release(plus), warmPlus, 'cold after the upload = warm after the upload');
  // The unpublished Packages' digests in Release are those of the whole plain text.
  const text = Buffer.from([...plus].sort((a, b) => (a.name < b.name ? -1 : 1)).map((r) => r.entry + '\n').join(''));
  for (const [field, algo] of [['MD5Sum', 'md5'], ['SHA1', 'sha1'], ['SHA256', 'sha256'], ['SHA512', 'sha512']]) {
    const section = warmPlus.slice(warmPlus.indexOf(`\n${field}:`));
    assert.match(section, new RegExp(`^ ${crypto.createHash(algo).update(text).digest('hex')} +${text.length} main/binary-amd64/Packages$`, 'm'), field);
  }
});
