/** Issue 7: gc removes blobs nothing references, keeps everything referenced, and is safe while uploads run. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server';
import { upload } from '../helpers/http';
import { runGc } from '../../src/core/gc';
import { blobKey } from '../../src/storage/blob-store';
import { checkAptDist } from '../helpers/apt-check';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';

let srv: TestServer;
before(async () => {
  srv = await startServer({ env: { KEEP_GENERATIONS: '2', KEEP_GENERATIONS_SECONDS: '0' } });
});
after(async () => srv.stop());

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

test('deleted packages and pruned index generations are collected; live ones are kept', async () => {
  const work = tmpDir('gc-');
  const keep = buildDeb(work, controlText({ Package: 'keeper', Version: '1.0', Architecture: 'amd64', Maintainer: 'G <g@example.com>', Description: 'x' }), 'gzip');
  const gone = crypto.randomBytes(4096);
  assert.equal((await upload(srv.url, keep, { reponame: 'gcrepo' })).status, 201);
  assert.equal((await upload(srv.url, { name: 'gone.bin', data: gone }, { provider: 'tar', reponame: 'gct', name: 'gone', version: '1' })).status, 201);
  // Several more publishes so the first generations fall out of KEEP_GENERATIONS=2.
  for (let i = 0; i < 4; i++) {
    const deb = buildDeb(work, controlText({ Package: `churn${i}`, Version: '1.0', Architecture: 'amd64', Maintainer: 'G <g@example.com>', Description: 'x' }), 'gzip');
    assert.equal((await upload(srv.url, deb, { reponame: 'gcrepo' })).status, 201);
  }
  const del = await fetch(`${srv.url}/api/repos/tar/gct/packages/gone/1`, { method: 'DELETE', headers: { Authorization: `Bearer ${srv.env.ADMIN_TOKEN}` } });
  assert.equal(del.status, 200);
  assert.ok(await srv.services.blobs.stat(blobKey(sha(gone))), 'the blob outlives its row until gc');

  // Within the grace period nothing unreferenced is touched (an upload may be about to commit it).
  const cautious = await runGc(srv.services, { graceSeconds: 3600 });
  assert.equal(cautious.deleted, 0);
  const dry = await runGc(srv.services, { graceSeconds: 0, dryRun: true });
  assert.ok(dry.deleted >= 2, `dry run finds the deleted file and old index files (${dry.deleted})`);
  assert.ok(await srv.services.blobs.stat(blobKey(sha(gone))), 'dry run deletes nothing');
  const real = await runGc(srv.services, { graceSeconds: 0 });
  assert.equal(real.deleted, dry.deleted);
  assert.equal(await srv.services.blobs.stat(blobKey(sha(gone))), null);

  // Everything still published is intact: the signed index and every package it names.
  const { packages } = await checkAptDist(`${srv.url}/repo/apt/gcrepo`, 'stable', { canonical: true });
  assert.equal(packages.length, 5);
  assert.equal((await runGc(srv.services, { graceSeconds: 0 })).deleted, 0, 'a second run finds nothing');
});

test('gc running during uploads never removes what those uploads store', async () => {
  const uploads = Array.from({ length: 20 }, (_, i) => crypto.randomBytes(2048 + i));
  const running = Promise.all(uploads.map((data, i) => upload(srv.url, { name: `u${i}.bin`, data }, { provider: 'tar', reponame: 'gcrace', name: 'u', version: `1.${i}` })));
  const gcs = Promise.all([0, 1, 2].map(() => runGc(srv.services, { graceSeconds: 60 })));
  const [results] = await Promise.all([running, gcs]);
  assert.deepEqual(results.map((r) => r.status), Array(20).fill(201));
  for (let i = 0; i < 20; i++) {
    const r = await fetch(`${srv.url}/repo/tar/gcrace/u/1.${i}/u${i}.bin`);
    assert.equal(r.status, 200);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(uploads[i]));
  }
});
