/**
 * Issue 2, publishing: 50 uploads into one index scope do not cause 50 rebuilds, and
 * every upload's 201 comes after its package is in the published (signed) index.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server';
import { upload } from '../helpers/http';
import { checkAptDist } from '../helpers/apt-check';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';

const work = tmpDir('coalesce-');
const logLines: string[] = [];
const srvP = startServer({ logLines });
after(async () => (await srvP).stop());

test('50 parallel uploads into one dist coalesce into few publishes, all listed', async () => {
  const srv = await srvP;
  const debs = Array.from({ length: 50 }, (_, i) => buildDeb(work, controlText({ Package: `co${i}`, Version: '1.0', Architecture: 'amd64', Maintainer: 'C <c@example.com>', Description: 'x' }), 'gzip'));
  const results = await Promise.all(
    debs.map(async (deb, i) => {
      const r = await upload(srv.url, deb, { reponame: 'coal', dist: 'stable' });
      // The response only comes once the package is visible in the published index.
      const listed = await (await fetch(`${srv.url}/repo/apt/coal/dists/stable/main/binary-amd64/Packages`)).text();
      return { status: r.status, visible: listed.includes(`Package: co${i}\n`) };
    }),
  );
  assert.deepEqual(results.map((r) => r.status), Array(50).fill(201));
  assert.deepEqual(results.filter((r) => !r.visible), [], 'every 201 came after the package was in the index');
  const publishes = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'publish' && l.repo === 'apt/coal');
  assert.ok(publishes.length < 25, `50 uploads caused ${publishes.length} publishes`);
  assert.ok(publishes.every((p) => typeof p.durationMs === 'number'), 'each publish logs its duration');
  const { packages } = await checkAptDist(`${srv.url}/repo/apt/coal`, 'stable', { canonical: true });
  assert.equal(packages.length, 50);
});

test('every request is logged as one JSON line with a request id', async () => {
  const reqs = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
  assert.ok(reqs.length >= 100);
  for (const r of reqs.slice(0, 20)) {
    assert.match(r.reqId, /^[0-9a-f]{16}$/);
    assert.equal(typeof r.status, 'number');
    assert.equal(typeof r.durationMs, 'number');
  }
});
