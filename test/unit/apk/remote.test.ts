/** How an apk remote maps `<branch>/<arch>/...` to its upstream branch URL (providers/apk/remote.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apkRemote } from '../../../providers/apk/remote';

const ctx = { upstream: 'https://dl-cdn.example/alpine/v3.20/main/', repoName: 'alpine' };

test('the branch is the upstream path\'s last segment or last two; index and packages map to <upstream>/<arch>/', () => {
  for (const branch of ['main', 'v3.20/main']) {
    assert.deepEqual(apkRemote.target(`${branch}/x86_64/APKINDEX.tar.gz`, ctx), { kind: 'index', source: `${branch}/x86_64/APKINDEX.tar.gz`, url: 'https://dl-cdn.example/alpine/v3.20/main/x86_64/APKINDEX.tar.gz' });
    assert.deepEqual(apkRemote.target(`${branch}/aarch64/musl-1.2.5-r0.apk`, ctx), { kind: 'package', url: 'https://dl-cdn.example/alpine/v3.20/main/aarch64/musl-1.2.5-r0.apk' });
  }
  for (const p of ['community/x86_64/APKINDEX.tar.gz', 'alpine/v3.20/main/x86_64/APKINDEX.tar.gz', 'main/APKINDEX.tar.gz', 'main/x86_64/README', 'main/x86-64/a.apk', 'keys/x.rsa.pub']) {
    assert.equal(apkRemote.target(p, ctx), null, p);
  }
});

test('checkUpstream wants a branch URL; transformIndex keeps the bytes and refuses what is not gzip', async () => {
  assert.throws(() => apkRemote.checkUpstream!('https://dl-cdn.example/'), /branch URL/);
  assert.throws(() => apkRemote.checkUpstream!('https://dl-cdn.example/alpine/edge/main?x=1'), /query/);
  apkRemote.checkUpstream!('https://dl-cdn.example/alpine/edge/main');
  const body = Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]);
  const fetched = { path: 'main/x86_64/APKINDEX.tar.gz', source: 'main/x86_64/APKINDEX.tar.gz', url: 'u', contentType: 'text/html', body };
  assert.deepEqual(await apkRemote.transformIndex!(fetched, ctx), { files: [{ path: fetched.path, data: body, contentType: 'application/gzip' }], links: [] });
  assert.throws(() => apkRemote.transformIndex!({ ...fetched, body: Buffer.from('<html>') }, ctx), /not gzip/);
});
