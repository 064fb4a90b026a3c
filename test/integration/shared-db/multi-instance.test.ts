/**
 * Issue 7: two instances sharing one database and one S3 bucket (s3rver) behave as one
 * server: publishes are serialized by the database lock (MySQL GET_LOCK, PostgreSQL advisory
 * locks). Runs in the MariaDB and PostgreSQL passes of scripts/test.sh (TEST_DB=mysql or
 * unset: MariaDB; TEST_DB=postgres: PostgreSQL).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../../helpers/server';
import { startS3rver, type S3rverHandle } from '../../helpers/s3';
import { createServerDatabase, sharedDbKind } from '../../helpers/test-db';
import { upload, getJson } from '../../helpers/http';
import { checkAptDist } from '../../helpers/apt-check';
import { eventually } from '../../helpers/eventually';
import { buildDeb, controlText, tmpDir } from '../../unit/apt/helpers';

let a: TestServer;
let b: TestServer;
let s3: S3rverHandle;
let db: { url: string; drop: () => Promise<void> };
const work = tmpDir('multi-');

before(async () => {
  db = await createServerDatabase(sharedDbKind());
  s3 = await startS3rver();
  const bucket = { url: s3.url('shared-bucket') };
  a = await startServer({ databaseUrl: db.url, s3: bucket });
  b = await startServer({ databaseUrl: db.url, s3: bucket });
});
after(async () => {
  await a.stop();
  await b.stop();
  await s3.stop();
  await db.drop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('100 parallel uploads split between two instances all end up in one consistent signed index', async () => {
  const arches = ['amd64', 'arm64', 'all', 'i386'];
  const debs = Array.from({ length: 100 }, (_, i) =>
    buildDeb(work, controlText({ Package: `pkg${i % 25}`, Version: `1.${Math.floor(i / 25)}`, Architecture: arches[i % 4], Maintainer: 'T <t@example.com>', Description: `package ${i}` }), 'gzip'),
  );
  const results = await Promise.all(debs.map((deb, i) => upload(i % 2 ? a.url : b.url, deb, { reponame: 'shared', dist: 'stable' })));
  assert.deepEqual(results.map((r) => r.status), Array(100).fill(201), JSON.stringify(results.filter((r) => r.status !== 201).map((r) => r.body)));
  for (const srv of [a, b]) {
    const pk = await getJson(`${srv.url}/api/repos/apt/shared/packages?limit=1000`);
    assert.equal(pk.body.packages.reduce((n: number, p: { files: number }) => n + p.files, 0), 100);
    const { packages, release } = await checkAptDist(`${srv.url}/repo/apt/shared`, 'stable', { canonical: true });
    // `all` packages are repeated in every binary-<arch> index; the distinct triples are the 100 uploads.
    assert.equal(packages.length, 100);
    assert.deepEqual(release.Architectures.split(' ').sort(), ['amd64', 'arm64', 'i386']);
  }
  // Both instances serve byte-identical InRelease: one generation, not two diverging ones.
  const [ia, ib] = await Promise.all([a, b].map(async (s) => Buffer.from(await (await fetch(`${s.url}/repo/apt/shared/dists/stable/InRelease`)).arrayBuffer())));
  assert.ok(ia.equals(ib));
});

test('a package uploaded through one instance is served by the other at once, and in its index within READ_CACHE_CHECK_MS', async () => {
  const deb = buildDeb(work, controlText({ Package: 'crossover', Version: '2.0', Architecture: 'amd64', Maintainer: 'T <t@example.com>', Description: 'x' }), 'xz');
  const r = await upload(a.url, deb, { reponame: 'shared', dist: 'stable' });
  assert.equal(r.status, 201);
  const dl = await fetch(`${b.url}/repo/apt/shared/${r.body.path}`);
  assert.equal(dl.status, 200);
  assert.ok(Buffer.from(await dl.arrayBuffer()).equals(fs.readFileSync(deb)));
  // b may serve the previous (complete, consistent) generation for up to READ_CACHE_CHECK_MS (src/core/read-cache.ts).
  const packages = await eventually(async () => (await checkAptDist(`${b.url}/repo/apt/shared`, 'stable')).packages, { accept: (p) => p.includes('crossover 2.0 amd64') });
  assert.ok(packages.includes('crossover 2.0 amd64'));
});

test('the same file uploaded to both instances at once: one 201, one 409, no 500', async () => {
  const deb = buildDeb(work, controlText({ Package: 'racer', Version: '1.0', Architecture: 'arm64', Maintainer: 'T <t@example.com>', Description: 'x' }), 'xz');
  const res = await Promise.all([upload(a.url, deb, { reponame: 'shared', dist: 'stable' }), upload(b.url, deb, { reponame: 'shared', dist: 'stable' })]);
  assert.deepEqual(res.map((r) => r.status).sort(), [201, 409]);
});

test('blobs live in the shared bucket, not on local disk', async () => {
  for (const srv of [a, b]) assert.equal(fs.existsSync(path.join(srv.dataDir, 'blobs')), false);
  const h = await getJson(`${a.url}/healthz`);
  assert.equal(h.body.database, sharedDbKind());
  assert.equal(h.body.blobStore, 's3');
});
