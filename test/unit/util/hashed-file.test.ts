/**
 * HashedFileWriter stores what it is given and digests it, whether the file ends inside its
 * small first batch (hashed in place) or spans many 1 MiB batches (hashed by the worker).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashedFileWriter } from '../../../src/util/hashed-file';

const ALGOS = ['sha256', 'sha512', 'sha1', 'md5'] as const;

/** `data` in chunks of varying sizes (1 byte to 200 KiB), as a socket would deliver it. */
function chunked(data: Buffer, seed: number): Readable {
  const parts: Buffer[] = [];
  let x = seed;
  for (let off = 0; off < data.length; ) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const n = Math.min(data.length - off, 1 + (x % (200 << 10)));
    parts.push(data.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts);
}

test('files of every size around the batch boundaries are stored byte for byte with the right digests', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hashed-file-'));
  try {
    const K = 1024;
    for (const size of [0, 1, 64 * K - 1, 64 * K, 64 * K + 1, 1024 * K, 1024 * K + 64 * K + 3, 3 * 1024 * K + 17]) {
      const data = crypto.randomBytes(size);
      const file = path.join(dir, `f-${size}`);
      const w = new HashedFileWriter(file, ALGOS);
      await pipeline(chunked(data, size + 7), w);
      assert.equal(w.size, size, `size ${size}`);
      assert.ok(fs.readFileSync(file).equals(data), `bytes of ${size}`);
      for (const a of ALGOS) assert.equal(w.digests[a], crypto.createHash(a).update(data).digest('hex'), `${a} of ${size}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('only the asked digests are computed, small or large', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hashed-file-'));
  try {
    for (const size of [100, 2 << 20]) {
      const w = new HashedFileWriter(path.join(dir, `g-${size}`), ['sha256']);
      await pipeline(chunked(crypto.randomBytes(size), 3), w);
      assert.deepEqual(Object.keys(w.digests), ['sha256']);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
