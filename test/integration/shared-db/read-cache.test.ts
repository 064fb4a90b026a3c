/**
 * Issue 15: two instances on one database (and one blob directory), each with its in-memory
 * GET copies (src/core/read-cache.ts). What one instance publishes, deletes or makes private
 * shows on the other within READ_CACHE_CHECK_MS (default 1000 ms; polled here, not timed),
 * and while it does not yet, the other serves one complete previous generation: its
 * InRelease and every file that InRelease names match.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { startServer, type TestServer } from '../../helpers/server';
import { createServerDatabase, sharedDbKind } from '../../helpers/test-db';
import { auth, upload } from '../../helpers/http';
import { checkAptDist } from '../../helpers/apt-check';
import { eventually } from '../../helpers/eventually';
import { buildDeb, controlText, tmpDir } from '../../unit/apt/helpers';

let a: TestServer;
let b: TestServer;
let db: { url: string; drop: () => Promise<void> };
const work = tmpDir('read-cache-multi-');

before(async () => {
  db = await createServerDatabase(sharedDbKind());
  a = await startServer({ databaseUrl: db.url });
  // One blob directory for both (as one S3 bucket would be).
  b = await startServer({ databaseUrl: db.url, env: { DATA_DIR: a.dataDir } });
});
after(async () => {
  await b.stop();
  await a.stop();
  await db.drop();
  fs.rmSync(work, { recursive: true, force: true });
});

const deb = (name: string, version: string) => buildDeb(work, controlText({ Package: name, Version: version, Architecture: 'amd64', Maintainer: 'T <t@example.com>', Description: 'x' }), 'gzip');

test("a publish on one instance is seen by the other within the bound, and until then the other's index is consistent", async () => {
  assert.equal((await upload(a.url, deb('first', '1.0'), { reponame: 'rc', dist: 'stable' })).status, 201);
  // b caches the first generation.
  assert.deepEqual((await checkAptDist(`${b.url}/repo/apt/rc`, 'stable')).packages, ['first 1.0 amd64']);
  assert.equal((await upload(a.url, deb('second', '1.0'), { reponame: 'rc', dist: 'stable' })).status, 201);
  const seen: string[][] = [];
  const packages = await eventually(
    async () => {
      // checkAptDist verifies every file InRelease names against its hashes: old or new, never a mix.
      const p = (await checkAptDist(`${b.url}/repo/apt/rc`, 'stable')).packages;
      seen.push(p);
      return p;
    },
    { accept: (p) => p.includes('second 1.0 amd64') },
  );
  assert.deepEqual(packages.sort(), ['first 1.0 amd64', 'second 1.0 amd64']);
  for (const p of seen) assert.ok(p.length === 1 || p.length === 2, JSON.stringify(p));
});

test('a package deleted through one instance is 404 on the other within the bound', async () => {
  const r = await upload(a.url, { name: 'gone-1.0.tar.gz', data: crypto.randomBytes(4096) }, { provider: 'tar', reponame: 'rc-tar', name: 'gone', version: '1.0' });
  assert.equal(r.status, 201);
  const url = `${b.url}/repo/tar/rc-tar/gone/1.0/gone-1.0.tar.gz`;
  assert.equal((await fetch(url)).status, 200);
  assert.equal((await fetch(`${a.url}/api/repos/tar/rc-tar/packages/gone/1.0`, { method: 'DELETE', headers: auth() })).status, 200);
  assert.equal(await eventually(async () => (await fetch(url)).status, { accept: (s) => s === 404 }), 404);
});

test('a repository made private through one instance needs a token on the other within the bound', async () => {
  assert.equal((await upload(a.url, { name: 'secret-1.0.tar.gz', data: crypto.randomBytes(4096) }, { provider: 'tar', reponame: 'rc-private', name: 'secret', version: '1.0' })).status, 201);
  const url = `${b.url}/repo/tar/rc-private/secret/1.0/secret-1.0.tar.gz`;
  assert.equal((await fetch(url)).status, 200);
  const patch = await fetch(`${a.url}/api/repos/tar/rc-private/settings`, { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ private: true }) });
  assert.equal(patch.status, 200);
  assert.equal(await eventually(async () => (await fetch(url)).status, { accept: (s) => s === 401 }), 401);
  assert.equal((await fetch(url, { headers: auth() })).status, 200);
});
