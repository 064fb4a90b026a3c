/** One contract, every blob store: the local file system and S3 (s3rver in-process). */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { S3BlobStore, parseS3Url } from '../../src/storage/s3-blob-store';
import type { BlobStore } from '../../src/storage/blob-store';
import { startS3rver, type S3rverHandle } from '../helpers/s3';

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

function contract(name: string, make: () => Promise<{ store: BlobStore; done: () => Promise<void> }>) {
  describe(`${name} blob store`, () => {
    let store: BlobStore;
    let done: () => Promise<void>;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'contract-'));
    before(async () => ({ store, done } = await make()));
    after(async () => {
      await done();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    test('putFile streams a large file (multipart on S3) and get returns the same bytes', async () => {
      const data = crypto.randomBytes(20 * 1024 * 1024 + 123); // > 2 S3 parts of 8 MiB
      const file = path.join(tmp, 'big');
      fs.writeFileSync(file, data);
      await store.putFile('blobs/t/big', file);
      assert.ok((await readAll(await store.get('blobs/t/big'))).equals(data));
      const st = await store.stat('blobs/t/big');
      assert.equal(st?.size, data.length);
    });

    test('ranges return exactly the requested bytes', async () => {
      await store.putBuffer('blobs/t/r', Buffer.from('0123456789'));
      assert.equal((await readAll(await store.get('blobs/t/r', { start: 2, end: 5 }))).toString(), '2345');
    });

    test('stat of a missing key is null; delete is idempotent', async () => {
      assert.equal(await store.stat('blobs/t/missing'), null);
      await store.putBuffer('blobs/t/d', Buffer.from('x'));
      await store.delete('blobs/t/d');
      await store.delete('blobs/t/d');
      assert.equal(await store.stat('blobs/t/d'), null);
    });

    test('list walks a prefix', async () => {
      await store.putBuffer('blobs/l/a/1', Buffer.from('1'));
      await store.putBuffer('blobs/l/b/2', Buffer.from('22'));
      const keys = [];
      for await (const b of store.list('blobs/l/')) keys.push(`${b.key}:${b.size}`);
      assert.deepEqual(keys.sort(), ['blobs/l/a/1:1', 'blobs/l/b/2:2']);
    });

    test('check passes on a writable store', async () => {
      await store.check();
    });
  });
}

contract('fs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsstore-'));
  return { store: new FsBlobStore(dir), done: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

let s3: S3rverHandle;
contract('s3', async () => {
  s3 = await startS3rver();
  const store = new S3BlobStore(parseS3Url(s3.url('contract-bucket'), 'us-east-1'));
  await store.ensureBucket();
  return {
    store,
    done: async () => {
      store.destroy();
      await s3.stop();
    },
  };
});

test('S3_URL in the seed form is parsed into endpoint, bucket and credentials', () => {
  assert.deepEqual(parseS3Url('https://AK%2F1:se%40cret@minio.local:9000/packages', 'eu-west-1'), {
    endpoint: 'https://minio.local:9000', bucket: 'packages', region: 'eu-west-1', accessKeyId: 'AK/1', secretAccessKey: 'se@cret',
  });
});

test('fs store: a shard directory removed behind its back (it remembers made directories) is made again, and putFile consumes the temp file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsstore-gone-'));
  try {
    const store = new FsBlobStore(dir);
    const put = async (key: string, data: string) => {
      const f = path.join(dir, `upload-${crypto.randomBytes(4).toString('hex')}`);
      fs.writeFileSync(f, data);
      await store.putFile(key, f);
      assert.equal(fs.existsSync(f), false, 'the local file is moved into the store');
    };
    await put('blobs/ab/one', 'one');
    await store.putBuffer('blobs/ab/two', Buffer.from('two'));
    fs.rmSync(path.join(dir, 'blobs/ab'), { recursive: true });
    await put('blobs/ab/three', 'three');
    await store.putBuffer('blobs/ab/four', Buffer.from('four'));
    assert.equal((await readAll(await store.get('blobs/ab/three'))).toString(), 'three');
    assert.equal((await readAll(await store.get('blobs/ab/four'))).toString(), 'four');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'blobs/ab')).sort(), ['four', 'three'], 'no temp files left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('fs check makes a missing root, leaves no probe file, and fails on a root that is not a directory', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsstore-check-'));
  try {
    const root = path.join(dir, 'not', 'yet');
    await new FsBlobStore(root).check();
    assert.deepEqual(fs.readdirSync(root), [], 'the probe file is removed');
    await new FsBlobStore(root).check();
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    await assert.rejects(new FsBlobStore(path.join(dir, 'file')).check(), /ENOTDIR|EEXIST/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
