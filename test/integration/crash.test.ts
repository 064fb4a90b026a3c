/**
 * Issue 7: kill -9 at arbitrary points of uploads and publishes, then restart. Afterwards
 * the repository must be consistent without manual repair: the signed index verifies,
 * names only stored files with the right hashes, and lists every upload that was
 * acknowledged with 201 before the crash. A virtual repository listing it (issue 14: its own
 * merged index, marked in the member's transactions) must end up listing the same. Runs on SQLite, MariaDB (TEST_DB=mysql) and
 * PostgreSQL (TEST_DB=postgres).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startChildServer, freePort, type ChildServer } from '../helpers/child-server';
import { createServerDatabase, testDbKind } from '../helpers/test-db';
import { checkAptDist } from '../helpers/apt-check';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';

const work = tmpDir('crash-');
let dbDrop: (() => Promise<void>) | undefined;
after(async () => {
  await dbDrop?.();
  fs.rmSync(work, { recursive: true, force: true });
});

async function post(base: string, token: string, deb: string): Promise<number> {
  const form = new FormData();
  form.append('f', await fs.openAsBlob(deb), path.basename(deb));
  try {
    const r = await fetch(`${base}/addpkg?reponame=crashy&dist=stable`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${token}` } });
    await r.text();
    return r.status;
  } catch {
    return 0; // connection died with the server
  }
}

test('kill -9 during uploads and publishes leaves a consistent repository after restart', { timeout: 300_000 }, async () => {
  const env: Record<string, string> = { DATA_DIR: path.join(work, 'data'), PUBLISH_SWEEP_SECONDS: '1', LOG_LEVEL: 'error' };
  const kind = testDbKind();
  if (kind !== 'sqlite') {
    const db = await createServerDatabase(kind);
    env.DATABASE_URL = db.url;
    dbDrop = db.drop;
  }
  const port = await freePort();
  const acknowledged = new Set<string>();
  let n = 0;
  {
    // The member exists (first upload), then a virtual of it, before the crashes start.
    const server = await startChildServer(env, port);
    assert.equal(await post(server.url, server.token, buildDeb(work, controlText({ Package: 'seed', Version: '1', Architecture: 'amd64', Maintainer: 'T <t@example.com>', Description: 'seed' }), 'gzip')), 201);
    acknowledged.add('seed 1');
    const put = await fetch(`${server.url}/api/repos/apt/crashall`, { method: 'PUT', headers: { Authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: '{"type":"virtual","members":["crashy"]}' });
    assert.equal(put.status, 201, await put.text());
    await server.stop();
  }
  for (let round = 0; round < 4; round++) {
    const server: ChildServer = await startChildServer(env, port);
    let stop = false;
    // Four concurrent uploaders; each upload is a new version so every one changes the index.
    const workers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const i = n++;
        const deb = buildDeb(work, controlText({ Package: `crash${i % 7}`, Version: `1.${i}`, Architecture: i % 3 ? 'amd64' : 'all', Maintainer: 'T <t@example.com>', Description: `crash test ${i}` }), 'gzip');
        if ((await post(server.url, server.token, deb)) === 201) acknowledged.add(`crash${i % 7} 1.${i}`);
      }
    });
    // Longer than before the virtual existed: each acknowledged upload now also waits for the virtual's publish.
    await new Promise((r) => setTimeout(r, 1000 + round * 450));
    await server.kill9();
    stop = true;
    await Promise.all(workers);
  }
  assert.ok(acknowledged.size > 5, `enough uploads were acknowledged to make the test meaningful (${acknowledged.size})`);
  const server = await startChildServer(env, port);
  try {
    // The sweep finishes publishes the crashes interrupted: wait until the index holds every
    // stored file row (uploads cut off before their commit left no row, and may be missing).
    let listed: string[] = [];
    let rows = -1;
    for (let i = 0; i < 60; i++) {
      const { packages } = await checkAptDist(`${server.url}/repo/apt/crashy`, 'stable');
      listed = packages.map((p) => p.split(' ').slice(0, 2).join(' '));
      const api = (await (await fetch(`${server.url}/api/repos/apt/crashy/packages?limit=1000`)).json()) as { packages: { files: number }[] };
      rows = api.packages.reduce((sum, p) => sum + p.files, 0);
      if (new Set(listed).size === rows) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const a of acknowledged) assert.ok(listed.includes(a), `${a} was acknowledged with 201 before a crash but is not in the index`);
    assert.equal(new Set(listed).size, rows, 'every stored file row is in the index after the sweep');
    // The virtual's own signed index catches up through the same sweep: the member's list.
    let virtualListed: string[] = [];
    for (let i = 0; i < 60; i++) {
      virtualListed = (await checkAptDist(`${server.url}/repo/apt/crashall`, 'stable')).packages.map((p) => p.split(' ').slice(0, 2).join(' '));
      if (new Set(virtualListed).size === rows) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual([...new Set(virtualListed)].sort(), [...new Set(listed)].sort(), 'the virtual lists what its member lists');
  } finally {
    await server.stop();
  }
});
