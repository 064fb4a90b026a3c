/**
 * Issue 14 across instances: twenty clients asking two instances (one MariaDB or PostgreSQL
 * database, one s3rver bucket) for the same uncached file cause one upstream download, and all
 * twenty get the right bytes; the same for an index page. The upstream (python3 -m
 * http.server on 127.0.0.1) counts its own requests. TEST_DB=mysql (or unset): MariaDB;
 * TEST_DB=postgres: PostgreSQL.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ADMIN_TOKEN, startServer, type TestServer } from '../../helpers/server';
import { startS3rver, type S3rverHandle } from '../../helpers/s3';
import { createServerDatabase, sharedDbKind } from '../../helpers/test-db';
import { getJson } from '../../helpers/http';
import { startStaticUpstream, writeSimpleTree, type StaticUpstream } from '../../helpers/static-upstream';
import { makeWheel, metadataText, tmpDir } from '../../unit/pypi/helpers';

let a: TestServer;
let b: TestServer;
let s3: S3rverHandle;
let db: { url: string; drop: () => Promise<void> };
let upstream: StaticUpstream;
const work = tmpDir();
const big = crypto.randomBytes(8 << 20);
let wheel: string;
const sha = (d: Buffer) => crypto.createHash('sha256').update(d).digest('hex');

before(async () => {
  const tree = path.join(work, 'tree');
  wheel = makeWheel(fs.mkdtempSync(path.join(work, 'w-')), 'heavy-1.0-py3-none-any.whl', metadataText('heavy', '1.0'), { extra: [{ name: 'heavy/pad.bin', b64: crypto.randomBytes(4 << 20).toString('base64'), stored: true }] });
  writeSimpleTree(tree, { heavy: [{ file: wheel }] });
  fs.writeFileSync(path.join(tree, 'big.bin'), big);
  upstream = await startStaticUpstream(tree);
  db = await createServerDatabase(sharedDbKind());
  s3 = await startS3rver();
  const bucket = { url: s3.url('remote-bucket') };
  a = await startServer({ databaseUrl: db.url, s3: bucket });
  b = await startServer({ databaseUrl: db.url, s3: bucket });
  for (const [repo, body] of [['tar/mirror', { type: 'remote', upstream: `${upstream.url}/` }], ['pypi/proxy', { type: 'remote', upstream: `${upstream.url}/simple/` }]] as const) {
    const r = await fetch(`${a.url}/api/repos/${repo}`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(r.status, 201, await r.text());
  }
});
after(async () => {
  await upstream?.stop();
  await a?.stop();
  await b?.stop();
  await s3?.stop();
  await db?.drop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** 20 GETs of `rel`, alternating between the instances, all at once: their statuses and sha256s. */
async function twenty(rel: string): Promise<{ status: number; sha: string }[]> {
  return Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const r = await fetch(`${(i % 2 ? a : b).url}${rel}`);
    return { status: r.status, sha: sha(Buffer.from(await r.arrayBuffer())) };
  }));
}

const asked = (p: string) => upstream.requests().filter((r) => r === p).length;

test('20 parallel first requests over two instances: one upstream download of the file, 20 right answers', async () => {
  const got = await twenty('/repo/tar/mirror/big.bin');
  assert.deepEqual(got.map((g) => g.status), Array(20).fill(200));
  assert.deepEqual(new Set(got.map((g) => g.sha)), new Set([sha(big)]));
  assert.equal(asked('/big.bin'), 1, 'one upstream GET');
  for (const srv of [a, b]) {
    const cache = (await getJson(`${srv.url}/api/repos/tar/mirror`)).body.cache;
    assert.deepEqual([cache.files, cache.size], [1, big.length]);
  }
  assert.equal(fs.existsSync(path.join(a.dataDir, 'blobs')) || fs.existsSync(path.join(b.dataDir, 'blobs')), false, 'the bytes are in the shared bucket');
});

test('the same for a PyPI page and then its (verified) wheel: one upstream GET each', async () => {
  const pages = await twenty('/repo/pypi/proxy/simple/heavy/');
  assert.deepEqual(pages.map((g) => g.status), Array(20).fill(200));
  assert.equal(new Set(pages.map((g) => g.sha)).size, 1, 'both instances serve the same page bytes');
  assert.equal(asked('/simple/heavy/'), 1);
  const wheels = await twenty('/repo/pypi/proxy/files/heavy/heavy-1.0-py3-none-any.whl');
  assert.deepEqual(wheels.map((g) => g.status), Array(20).fill(200));
  assert.deepEqual(new Set(wheels.map((g) => g.sha)), new Set([sha(fs.readFileSync(wheel))]));
  assert.equal(asked('/files/heavy-1.0-py3-none-any.whl'), 1);
});
