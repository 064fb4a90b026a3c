/**
 * zstd decoding (src/util/zstd*.ts) against the real `zstd` CLI: round trips in every frame
 * layout the CLI writes, XXH64 against the checksums the CLI stores, content checksums and
 * sizes enforced like `zstd -t` does, oversized windows refused before anything is
 * allocated, and the CPU budget of the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidPackageError } from '../../../src/core/errors';
import { decompressor } from '../../../src/util/compression';
import { Xxh64 } from '../../../src/util/xxhash64';
import { ZstdDecompressor, type ZstdOptions } from '../../../src/util/zstd';
import { rleFrame, windowBomb, windowDescriptor } from '../../helpers/zstd-frames';

const zstd = (data: Buffer, args: string[] = []): Buffer => execFileSync('zstd', ['-c', '-q', ...args], { input: data, maxBuffer: 1 << 30 });
/** What the real decoder says about `z`: true if `zstd -t` accepts it. */
const zstdAccepts = (z: Buffer): boolean => spawnSync('zstd', ['-t', '-q', '-'], { input: z }).status === 0;

async function decode(z: Buffer, opts: Partial<ZstdOptions> & { chunk?: number } = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const step = opts.chunk ?? 64 * 1024;
  const parts: Buffer[] = [];
  for (let p = 0; p < z.length; p += step) parts.push(z.subarray(p, p + step));
  await pipeline(Readable.from(parts), new ZstdDecompressor({ maxOutput: 1 << 30, ...opts }), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) chunks.push(c);
  });
  return Buffer.concat(chunks);
}

test('XXH64: the spec vector for empty input, and the checksums the zstd CLI stores', () => {
  const [hi, lo] = new Xxh64().digest();
  assert.equal(hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0'), 'ef46db3751d8e999');
  for (const n of [1, 3, 4, 5, 8, 13, 31, 32, 33, 63, 64, 65, 1000, 123457]) {
    const data = crypto.randomBytes(n);
    const z = zstd(data, ['--check']);
    const stored = z.readUInt32LE(z.length - 4);
    assert.equal(new Xxh64().update(data).digestLow32(), stored, `${n} bytes in one update`);
    const split = new Xxh64();
    for (let p = 0, k = 1; p < n; p += k, k = (k * 7) % 41 || 1) split.update(data.subarray(p, p + k));
    assert.equal(split.digestLow32(), stored, `${n} bytes in uneven updates`);
  }
});

test('round trips of what the CLI writes: levels, with and without checksum or content size, several frames, skippable frames', async () => {
  const data = Buffer.concat([crypto.randomBytes(300_000), Buffer.alloc(700_000, 0x42), Buffer.from('tail')]);
  for (const args of [[], ['--check'], ['--no-check'], ['-19', '--check'], ['--no-content-size'], ['--ultra', '-20']]) {
    const z = zstd(data, args);
    assert.ok((await decode(z)).equals(data), args.join(' '));
    assert.ok((await decode(z, { chunk: 1000 })).equals(data), `${args.join(' ')} in 1000-byte chunks`);
  }
  const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
  const two = Buffer.concat([zstd(Buffer.from('hello '), ['--check']), skippable, zstd(Buffer.from('world'), ['--check'])]);
  assert.ok(zstdAccepts(two));
  assert.equal((await decode(two, { chunk: 3 })).toString(), 'hello world');
  assert.equal((await decode(zstd(Buffer.alloc(0)))).length, 0);
});

test('a wrong content checksum is refused, as zstd -t refuses it', async () => {
  const z = zstd(crypto.randomBytes(5000), ['--check']);
  const bad = Buffer.from(z);
  bad[bad.length - 1]! ^= 0x01;
  assert.equal(zstdAccepts(bad), false);
  await assert.rejects(decode(bad), (e: Error) => e instanceof InvalidPackageError && /content checksum/.test(e.message));
  // Damage inside a block (the block still decodes, to other bytes) is caught by the checksum.
  const raw = zstd(crypto.randomBytes(5000), ['--check', '-1']);
  const inner = Buffer.from(raw);
  inner[raw.length >> 1]! ^= 0x10;
  assert.equal(zstdAccepts(inner), false);
  await assert.rejects(decode(inner), InvalidPackageError);
});

test('truncation, a wrong declared content size, trailing garbage and reserved bits are refused', async () => {
  const z = zstd(crypto.randomBytes(3000), ['--check']);
  for (const cut of [3, 5, 8, z.length - 5, z.length - 1]) {
    await assert.rejects(decode(z.subarray(0, cut)), (e: Error) => e instanceof InvalidPackageError && /truncated|empty/.test(e.message), `cut at ${cut}`);
  }
  await assert.rejects(decode(Buffer.concat([z, Buffer.from('garbage!')])), /bad magic number/);
  // Frame_Content_Size one too large (for 3000 bytes of known size the CLI writes a 2-byte field, value - 256)
  const fcs = Buffer.from(zstd(Buffer.alloc(3000, 1), ['--check', '--stream-size=3000']));
  assert.equal(fcs[4]! >> 6, 1, 'fixture has a 2-byte content size');
  const at = 5 + ((fcs[4]! >> 5) & 1 ? 0 : 1);
  fcs.writeUInt16LE(fcs.readUInt16LE(at) + 1, at);
  assert.equal(zstdAccepts(fcs), false);
  await assert.rejects(decode(fcs), /declares|content size/);
  const reserved = Buffer.from(z);
  reserved[4]! |= 0x08;
  await assert.rejects(decode(reserved), /reserved bit/);
});

test('the 262-byte window bomb is refused at its header, in milliseconds, and zstd refuses it too', async () => {
  const bomb = windowBomb();
  assert.equal(bomb.length, 262);
  assert.equal(zstdAccepts(bomb), false); // "Frame requires too much memory" with the default limit
  const t0 = Date.now();
  await assert.rejects(decode(bomb), (e: Error) => e instanceof InvalidPackageError && /window/.test(e.message));
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  // The largest window zstd accepts by default (128 MiB) is accepted here too.
  const ok = rleFrame(windowDescriptor(27), 2, 1000);
  assert.ok(zstdAccepts(ok));
  assert.equal((await decode(ok)).length, 2000);
  const over = rleFrame(windowDescriptor(27, 1), 2, 1000);
  assert.equal(zstdAccepts(over), false);
  await assert.rejects(decode(over), /window/);
});

test('output cap, and the CPU budget stops data crafted to be slow (tiny blocks in a 128 MiB window)', async () => {
  await assert.rejects(decode(zstd(Buffer.alloc(100_000)), { maxOutput: 50_000 }), /expands beyond 50000 bytes/);
  // 20 000 one-byte RLE blocks: fzstd moves its 128 MiB window once per block. With a 300 ms
  // budget the worker gives up long before decoding all of it.
  const slow = rleFrame(windowDescriptor(27), 20_000, 1);
  const t0 = Date.now();
  await assert.rejects(decode(slow, { budget: { baseMs: 300 } }), /took more than/);
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
});

test('the event loop stays free while a worker decodes', async () => {
  const data = crypto.randomBytes(8 << 20);
  const z = zstd(data, ['-1', '--check']);
  let maxGap = 0;
  let last = Date.now();
  const timer = setInterval(() => {
    maxGap = Math.max(maxGap, Date.now() - last);
    last = Date.now();
  }, 10);
  try {
    assert.ok((await decode(z)).equals(data));
  } finally {
    clearInterval(timer);
  }
  assert.ok(maxGap < 500, `event loop blocked for ${maxGap} ms`);
});

test('decompressor(): gzip and xz output caps; xz refuses a dictionary beyond its memory limit', async () => {
  const run = async (kind: 'gzip' | 'xz', z: Buffer, maxOutput: number) => {
    let n = 0;
    await pipeline(Readable.from([z]), decompressor(kind, { maxOutput, what: kind }), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) n += c.length;
    });
    return n;
  };
  const zeros = Buffer.alloc(1 << 20);
  assert.equal(await run('gzip', execFileSync('gzip', ['-c'], { input: zeros }), 1 << 20), 1 << 20);
  await assert.rejects(run('gzip', execFileSync('gzip', ['-c'], { input: zeros }), 1000), /expands beyond 1000 bytes/);
  await assert.rejects(run('xz', execFileSync('xz', ['-c'], { input: zeros }), 1000), /expands beyond 1000 bytes/);
  // A 256 MiB dictionary: liblzma would reserve ~256 MiB to decode even these few bytes.
  const bigDict = execFileSync('xz', ['-c', '--lzma2=dict=256MiB'], { input: Buffer.from('tiny') });
  await assert.rejects(run('xz', bigDict, 1 << 20), (e: Error) => e instanceof InvalidPackageError && /xz/.test(e.message));
});
