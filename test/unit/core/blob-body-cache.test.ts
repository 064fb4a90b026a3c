import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobBodyCache, MAX_ITEM } from '../../../src/core/blob-body-cache';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

test('a body is read from the store once, then served from memory', async () => {
  const cache = new BlobBodyCache();
  const body = crypto.randomBytes(4096);
  let opened = 0;
  const open = async () => (opened++, Readable.from([body.subarray(0, 100), body.subarray(100)]));
  const [x, y] = await Promise.all([cache.get(sha(body), body.length, open), cache.get(sha(body), body.length, open)]);
  assert.ok(x!.equals(body) && y!.equals(body));
  assert.ok((await cache.get(sha(body), body.length, open))!.equals(body));
  assert.equal(opened, 1);
});

test('stored bytes that are not the blob (damaged, truncated) are never kept: null, and read again next time', async () => {
  const cache = new BlobBodyCache();
  const body = crypto.randomBytes(1000);
  const damaged = Buffer.from(body);
  damaged[10] ^= 1;
  let opened = 0;
  const open = async () => (opened++, Readable.from([damaged]));
  assert.equal(await cache.get(sha(body), body.length, open), null);
  assert.equal(await cache.get(sha(body), body.length, async () => (opened++, Readable.from([body.subarray(0, 999)]))), null);
  assert.equal(opened, 2);
  assert.equal(cache.fits(MAX_ITEM), true);
  assert.equal(cache.fits(MAX_ITEM + 1), false);
});

test('the total is bounded: the least recently used bodies go first', async () => {
  const cache = new BlobBodyCache(3000);
  const bodies = [0, 1, 2].map(() => crypto.randomBytes(1000));
  const reads: number[] = [];
  const get = (i: number) => cache.get(sha(bodies[i]), 1000, async () => (reads.push(i), Readable.from([bodies[i]])));
  await get(0);
  await get(1);
  await get(0); // 0 is now the most recently used
  await get(2);
  await get(2); // 1 + 2 + 0 = 3000: all kept
  assert.deepEqual(reads, [0, 1, 2]);
  await cache.get(sha(Buffer.alloc(1000, 7)), 1000, async () => Readable.from([Buffer.alloc(1000, 7)])); // 4000 > 3000: 1 goes
  await get(0);
  await get(2);
  await get(1);
  assert.deepEqual(reads, [0, 1, 2, 1]);
});

test('peek answers a kept body without reading (the same Buffer get gives), and nothing for one not kept', async () => {
  const cache = new BlobBodyCache();
  const body = crypto.randomBytes(2000);
  assert.equal(cache.peek(sha(body)), undefined);
  const got = await cache.get(sha(body), body.length, async () => Readable.from([body]));
  assert.equal(cache.peek(sha(body)), got);
  const damaged = crypto.randomBytes(2000);
  assert.equal(await cache.get(sha(damaged), damaged.length, async () => Readable.from([Buffer.alloc(2000)])), null);
  assert.equal(cache.peek(sha(damaged)), undefined);
});
