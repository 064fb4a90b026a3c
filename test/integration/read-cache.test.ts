/**
 * Issue 15: the GET path's in-memory copies (src/core/read-cache.ts, blob-body-cache.ts) never
 * change what a request gets: authorization runs on every request, a delete or a settings
 * change shows in the very next answer of this instance, and cached answers carry the
 * same headers as the first one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server';
import { auth, upload } from '../helpers/http';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';

let srv: TestServer;
const work = tmpDir('read-cache-');

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

const patchSettings = (provider: string, repo: string, body: Record<string, unknown>) =>
  fetch(`${srv.url}/api/repos/${provider}/${repo}/settings`, { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function readToken(pattern: string): Promise<string> {
  const r = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `read-${pattern}`, role: 'read', repoPattern: pattern }) });
  assert.equal(r.status, 201, await r.clone().text());
  return ((await r.json()) as { token: string }).token;
}

test('a cached file of a private repository still needs a token that may read it, on every request', async () => {
  const data = crypto.randomBytes(4096);
  assert.equal((await upload(srv.url, { name: 'p-1.0.tar.gz', data }, { provider: 'tar', reponame: 'cached-private', name: 'p', version: '1.0' })).status, 201);
  const url = `${srv.url}/repo/tar/cached-private/p/1.0/p-1.0.tar.gz`;
  assert.equal((await fetch(url)).status, 200); // now cached: row, path and body
  assert.equal((await patchSettings('tar', 'cached-private', { private: true })).status, 200);
  const reader = await readToken('cached-private');
  const other = await readToken('somewhere-else');
  for (let i = 0; i < 3; i++) {
    const anon = await fetch(url);
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic/);
    assert.equal((await fetch(url, { headers: auth(other) })).status, 404);
    const ok = await fetch(url, { headers: auth(reader) });
    assert.equal(ok.status, 200);
    assert.ok(Buffer.from(await ok.arrayBuffer()).equals(data));
  }
  // And back: public again at once.
  assert.equal((await patchSettings('tar', 'cached-private', { private: null })).status, 200);
  assert.equal((await fetch(url)).status, 200);
});

test('a deleted package is 404 after its publish, though it was served from memory just before', async () => {
  const data = crypto.randomBytes(4096);
  assert.equal((await upload(srv.url, { name: 'gone-1.0.tar.gz', data }, { provider: 'tar', reponame: 'cached-delete', name: 'gone', version: '1.0' })).status, 201);
  const url = `${srv.url}/repo/tar/cached-delete/gone/1.0/gone-1.0.tar.gz`;
  for (let i = 0; i < 2; i++) assert.equal((await fetch(url)).status, 200);
  const del = await fetch(`${srv.url}/api/repos/tar/cached-delete/packages/gone/1.0`, { method: 'DELETE', headers: auth() });
  assert.equal(del.status, 200, await del.clone().text());
  const after = await fetch(url);
  assert.equal(after.status, 404);
  assert.equal(((await after.json()) as { code: string }).code, 'not_found');
});

test('a settings change that shows in the indexes is in the next InRelease; by-hash and headers stay right', async () => {
  const deb = buildDeb(work, controlText({ Package: 'cachedpkg', Version: '1.0', Architecture: 'amd64', Maintainer: 'T <t@example.com>', Description: 'x' }), 'gzip');
  assert.equal((await upload(srv.url, deb, { reponame: 'cached-apt', dist: 'stable' })).status, 201);
  const url = `${srv.url}/repo/apt/cached-apt/dists/stable/InRelease`;
  const first = await fetch(url);
  const firstBody = await first.text();
  const again = await fetch(url);
  assert.equal(await again.text(), firstBody);
  for (const h of ['etag', 'last-modified', 'content-type', 'content-length', 'cache-control', 'accept-ranges']) assert.equal(again.headers.get(h), first.headers.get(h), h);
  // A range and a conditional GET of the cached body.
  const range = await fetch(url, { headers: { Range: 'bytes=5-14' } });
  assert.equal(range.status, 206);
  assert.equal(range.headers.get('content-range'), `bytes 5-14/${Buffer.byteLength(firstBody)}`);
  assert.equal(await range.text(), Buffer.from(firstBody).subarray(5, 15).toString());
  assert.equal((await fetch(url, { headers: { 'If-None-Match': first.headers.get('etag')! } })).status, 304);
  const head = await fetch(url, { method: 'HEAD' });
  assert.equal(head.headers.get('content-length'), first.headers.get('content-length'));

  assert.equal((await patchSettings('apt', 'cached-apt', { label: 'Cached Label' })).status, 200);
  const next = await (await fetch(url)).text();
  assert.match(next, /^Label: Cached Label$/m);
  assert.doesNotMatch(firstBody, /Cached Label/);
  // The Packages file the new InRelease names is served under its by-hash name too.
  const sha = /^ ([0-9a-f]{64}) +\d+ main\/binary-amd64\/Packages$/m.exec(next)![1];
  const byHash = await fetch(`${srv.url}/repo/apt/cached-apt/dists/stable/main/binary-amd64/by-hash/SHA256/${sha}`);
  assert.equal(byHash.status, 200);
  assert.equal(crypto.createHash('sha256').update(Buffer.from(await byHash.arrayBuffer())).digest('hex'), sha);
});

test('the synchronous lookups of the fast path: what the awaited ones keep, and nothing once the repository changed', async () => {
  const reads = srv.services.reads;
  const data = crypto.randomBytes(4096);
  assert.equal((await upload(srv.url, { name: 'now-1.0.tar.gz', data }, { provider: 'tar', reponame: 'cached-now', name: 'now', version: '1.0' })).status, 201);
  const deb = buildDeb(work, controlText({ Package: 'nowpkg', Version: '1.0', Architecture: 'amd64', Maintainer: 'T <t@example.com>', Description: 'x' }), 'gzip');
  assert.equal((await upload(srv.url, deb, { reponame: 'cached-now-apt', dist: 'stable' })).status, 201);
  // Nothing looked up yet since the uploads' commits: nothing to answer from memory.
  assert.equal(reads.repoNow('tar', 'cached-now'), undefined);
  const tarRepo = (await reads.repo('tar', 'cached-now'))!;
  assert.equal(reads.repoNow('tar', 'cached-now'), tarRepo);
  const filePath = 'now/1.0/now-1.0.tar.gz';
  assert.equal(reads.packageFileNow(tarRepo.id, filePath), undefined);
  const file = (await reads.packageFile(tarRepo.id, filePath))!;
  assert.equal(file.sha256, crypto.createHash('sha256').update(data).digest('hex'));
  assert.equal(reads.packageFileNow(tarRepo.id, filePath), file);
  // A miss is kept for index files (a generation's files never change), not for package files.
  assert.equal(await reads.packageFile(tarRepo.id, 'now/1.0/missing.tar.gz'), null);
  assert.equal(reads.packageFileNow(tarRepo.id, 'now/1.0/missing.tar.gz'), undefined);

  const aptRepo = (await reads.repo('apt', 'cached-now-apt'))!;
  const inRelease = (await reads.currentIndexFile(aptRepo.id, 'dists/stable/InRelease'))!;
  assert.ok(inRelease.sha256);
  assert.equal(reads.currentIndexFileNow(aptRepo.id, 'dists/stable/InRelease'), inRelease);
  assert.equal(await reads.currentIndexFile(aptRepo.id, 'dists/stable/Nothing'), null);
  assert.equal(reads.currentIndexFileNow(aptRepo.id, 'dists/stable/Nothing'), null);
  assert.equal(reads.currentIndexFileNow(aptRepo.id, 'dists/stable/Release'), undefined);

  // A settings change drops the copies: the next request asks the database again.
  assert.equal((await patchSettings('apt', 'cached-now-apt', { label: 'Now' })).status, 200);
  assert.equal(reads.repoNow('apt', 'cached-now-apt'), undefined);
  assert.equal(reads.currentIndexFileNow(aptRepo.id, 'dists/stable/InRelease'), undefined);
  assert.equal(reads.repoNow('tar', 'cached-now'), tarRepo); // another repository's copy stays
});
