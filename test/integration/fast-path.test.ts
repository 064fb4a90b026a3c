/**
 * Issue 15: the fast path ahead of Express (src/http/fast-path.ts) answers exactly what
 * Express answers. One set of services behind two listeners: the test server's own
 * (FAST_PATH=off: Express only) and a second one with the fast path in front of the same
 * Express app, counting the requests the fast path hands over. Every comparison is of
 * status, raw header list (names, values, order; Date aside) and body bytes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app';
import { withFastPath } from '../../src/http/fast-path';
import { createHttpServer } from '../../src/http/server-timeouts';
import { GenerationEntity } from '../../src/db/entities';
import { startServer, type TestServer } from '../helpers/server';
import { auth, upload } from '../helpers/http';
import { eventually } from '../helpers/eventually';
import { synthDeb } from './apt-tools';
import { synthPackage } from '../helpers/synth-pacman';
import { buildApk, pkginfoFor } from '../unit/apk/apk-builder';
import { rpmbuild, tmpDir } from '../unit/rpm/helpers';
import { makeWheel, metadataText } from '../unit/pypi/helpers';

let srv: TestServer;
let fast: http.Server;
let fastUrl: string;
let handedOver = 0;
const logLines: string[] = [];
const TAR_DATA = crypto.randomBytes(4096);

interface Answer {
  status: number;
  headers: string[];
  body: Buffer;
}

/** One request on its own connection; raw headers in the order sent, Date left out. */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() !== 'date') raw.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        resolve({ status: res.statusCode!, headers: raw, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The fast listener's answer, checked equal to Express's; `viaFast` says whether the fast path must have answered it itself. */
async function same(path: string, headers: Record<string, string> = {}, opts: { method?: string; viaFast: boolean }): Promise<Answer> {
  const h = { 'X-Request-Id': `t-${crypto.randomBytes(4).toString('hex')}`, ...headers };
  const express = await get(srv.url, path, h, opts.method);
  const before = handedOver;
  const answer = await get(fastUrl, path, h, opts.method);
  assert.equal(handedOver - before, opts.viaFast ? 0 : 1, `${path}: ${opts.viaFast ? 'answered by the fast path' : 'handed to Express'}`);
  assert.equal(answer.status, express.status, `${path} status`);
  assert.deepEqual(answer.headers, express.headers, `${path} headers`);
  assert.ok(answer.body.equals(express.body), `${path} body`);
  return answer;
}

/** GET, HEAD, and both conditional forms each way: all from the fast path, all as Express says. */
async function checkAllForms(path: string, headers: Record<string, string> = {}): Promise<void> {
  const ok = await same(path, headers, { viaFast: true });
  assert.equal(ok.status, 200, path);
  const head = await same(path, headers, { method: 'HEAD', viaFast: true });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  const etag = ok.headers.find((h) => h.startsWith('ETag: '))!.slice(6);
  const lastModified = ok.headers.find((h) => h.startsWith('Last-Modified: '))!.slice(15);
  assert.equal((await same(path, { ...headers, 'If-None-Match': etag }, { viaFast: true })).status, 304);
  assert.equal((await same(path, { ...headers, 'If-None-Match': '"other"' }, { viaFast: true })).status, 200);
  assert.equal((await same(path, { ...headers, 'If-Modified-Since': lastModified }, { viaFast: true })).status, 304);
  assert.equal((await same(path, { ...headers, 'If-Modified-Since': new Date(Date.parse(lastModified) - 86_400_000).toUTCString() }, { viaFast: true })).status, 200);
}

before(async () => {
  srv = await startServer({ env: { FAST_PATH: 'off', DOWNLOAD_FLUSH_SECONDS: '0.1' }, logLines });
  const counting: http.RequestListener = (req, res) => {
    handedOver++;
    express(req, res);
  };
  const express = buildApp(srv.services);
  fast = createHttpServer(withFastPath(srv.services, counting, true), srv.services.config);
  await new Promise<void>((r) => fast.listen(0, '127.0.0.1', () => r()));
  fastUrl = `http://127.0.0.1:${(fast.address() as AddressInfo).port}`;

  const dir = tmpDir('fast-path-');
  const put = async (file: string | { name: string; data: Buffer }, query: Record<string, string>) => assert.equal((await upload(srv.url, file, query)).status, 201);
  await put({ name: 'p-1.0.tar.gz', data: TAR_DATA }, { provider: 'tar', reponame: 'fast', name: 'p', version: '1.0' });
  await put({ name: 'hello_1.0_amd64.deb', data: synthDeb('Package: hello\nVersion: 1.0\nArchitecture: amd64\nMaintainer: B <b@example.org>\nDescription: x\n') }, { provider: 'apt', reponame: 'fast', dist: 'stable' });
  await put(await synthPackage(dir, 'pk', 1), { provider: 'pacman', reponame: 'fast' });
  await put({ name: 'hello-1.0-r0.apk', data: buildApk({ pkginfo: pkginfoFor('hello', '1.0-r0', 'x86_64') }).bytes }, { provider: 'apk', reponame: 'fast', branch: 'v3.20/main' });
  await put(rpmbuild({ name: 'hr', version: '1.0', arch: 'noarch', files: { '/usr/share/hr/d': 'x\n' } }, dir).rpm, { provider: 'rpm', reponame: 'fast' });
  await put(makeWheel(dir, 'demo_proj-1.0-py3-none-any.whl', metadataText('demo-proj', '1.0')), { provider: 'pypi', reponame: 'fast' });
  await put({ name: 's-1.0.tar.gz', data: TAR_DATA }, { provider: 'tar', reponame: 'fast-private', name: 's', version: '1.0' });
  const r = await fetch(`${srv.url}/api/repos/tar/fast-private/settings`, { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ private: true }) });
  assert.equal(r.status, 200);
  // Generations are stamped a second apart; a stamp still ahead of the clock makes Last-Modified
  // depend on the second the request lands in. Compare once every stamp is in the past.
  const newest = Math.max(...(await srv.services.db.manager.getRepository(GenerationEntity).find()).map((g) => Number(g.createdAt)));
  await eventually(() => Date.now() > newest + 1000, { ms: 30_000 });
});

after(async () => {
  fast.closeAllConnections();
  await new Promise<void>((r) => fast.close(() => r()));
  await srv.stop();
});

test('index files of every format, by-hash files and package files: the same answer from the fast path in every form', async () => {
  const release = (await get(srv.url, '/repo/apt/fast/dists/stable/Release')).body.toString();
  const packagesGz = /^ ([0-9a-f]{64}) +\d+ (main\/binary-amd64\/Packages\.gz)$/m.exec(release);
  assert.ok(packagesGz, release);
  const paths = [
    '/repo/apt/fast/dists/stable/InRelease',
    '/repo/apt/fast/dists/stable/Release.gpg',
    '/repo/apt/fast/dists/stable/main/binary-amd64/Packages.gz',
    `/repo/apt/fast/dists/stable/main/binary-amd64/by-hash/SHA256/${packagesGz[1]}`,
    '/repo/apt/fast/pool/main/h/hello/hello_1.0_amd64.deb',
    '/repo/pacman/fast/x86_64/fast.db',
    '/repo/pacman/fast/x86_64/fast.db.sig',
    '/repo/pacman/fast/x86_64/pk-1.1.1-1-x86_64.pkg.tar.gz',
    '/repo/apk/fast/v3.20/main/x86_64/APKINDEX.tar.gz',
    '/repo/apk/fast/v3.20/main/x86_64/hello-1.0-r0.apk',
    '/repo/rpm/fast/repodata/repomd.xml',
    '/repo/rpm/fast/repodata/repomd.xml.asc',
    '/repo/rpm/fast/Packages/h/hr-1.0-1.noarch.rpm',
    '/repo/pypi/fast/files/demo-proj/demo_proj-1.0-py3-none-any.whl',
    '/repo/tar/fast/p/1.0/p-1.0.tar.gz',
  ];
  for (const p of paths) await checkAllForms(p);
});

test('PyPI pages (stored index files behind the provider rewrite): HTML and JSON by Accept, with Vary', async () => {
  for (const accept of ['text/html', 'application/vnd.pypi.simple.v1+json', '*/*']) {
    for (const p of ['/repo/pypi/fast/simple/demo-proj/', '/repo/pypi/fast/demo-proj/', '/repo/pypi/fast/simple/']) await checkAllForms(p, { Accept: accept });
  }
  const json = await same('/repo/pypi/fast/simple/demo-proj/', { Accept: 'application/vnd.pypi.simple.v1+json' }, { viaFast: true });
  assert.ok(json.headers.includes('Vary: Accept'), json.headers.join('\n'));
  assert.equal((JSON.parse(json.body.toString()) as { name: string }).name, 'demo-proj');
  // Redirects (slash-less, non-normalized) and the query form are Express's.
  assert.equal((await same('/repo/pypi/fast/simple/demo-proj', {}, { viaFast: false })).status, 301);
  assert.equal((await same('/repo/pypi/fast/simple/Demo_Proj/', {}, { viaFast: false })).status, 301);
  assert.equal((await same('/repo/pypi/fast/simple/demo-proj/?format=json', {}, { viaFast: false })).status, 200);
});

test('a private repository: anonymous and wrong-token answers come from Express, alike for a missing one; a read token is served fast', async () => {
  const path = '/repo/tar/fast-private/s/1.0/s-1.0.tar.gz';
  const anon = await same(path, {}, { viaFast: false });
  const missing = await same('/repo/tar/no-such-repo/s/1.0/s-1.0.tar.gz', {}, { viaFast: false });
  assert.equal(anon.status, 401);
  assert.equal(missing.status, anon.status);
  assert.deepEqual(anon.headers.filter((h) => !h.startsWith('X-Request-Id') && !h.startsWith('Content-Length')), missing.headers.filter((h) => !h.startsWith('X-Request-Id') && !h.startsWith('Content-Length')));
  const token = async (pattern: string) => {
    const r = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `fast-${pattern}`, role: 'read', repoPattern: pattern }) });
    assert.equal(r.status, 201);
    return ((await r.json()) as { token: string }).token;
  };
  const reader = await token('fast-private');
  const other = await token('elsewhere');
  await checkAllForms(path, auth(reader));
  const basic = { Authorization: `Basic ${Buffer.from(`token:${reader}`).toString('base64')}` };
  assert.ok((await same(path, basic, { viaFast: true })).body.equals(TAR_DATA));
  const wrongRepo = await same(path, auth(other), { viaFast: false });
  assert.equal(wrongRepo.status, 404);
  assert.equal((await same('/repo/tar/no-such-repo/s/1.0/s-1.0.tar.gz', auth(other), { viaFast: false })).status, 404);
  assert.equal((await same(path, auth('not-a-token'), { viaFast: false })).status, 401);
});

test('what the fast path leaves to Express: a Range (206), provider routes, listings, missing paths, a session cookie', async () => {
  const range = await same('/repo/tar/fast/p/1.0/p-1.0.tar.gz', { Range: 'bytes=0-99' }, { viaFast: false });
  assert.equal(range.status, 206);
  assert.ok(range.body.equals(TAR_DATA.subarray(0, 100)));
  assert.equal((await same('/repo/apt/fast/pubkey', {}, { viaFast: false })).status, 200);
  // The .repo file names the server's URL: ask both listeners under one Host.
  assert.equal((await same('/repo/rpm/fast/fast.repo', { Host: 'artifactd.test' }, { viaFast: false })).status, 200);
  assert.equal((await same('/repo/apt/fast/dists/stable/', {}, { viaFast: false })).status, 200);
  assert.equal((await same('/repo/apt/fast/dists/stable/Nothing', {}, { viaFast: false })).status, 404);
  assert.equal((await same('/repo/tar/fast/p/1.0/p-1.0.tar.gz.sha256', {}, { viaFast: false })).status, 200);
  assert.equal((await same('/repo/tar/fast/p/1.0/p-1.0.tar.gz', { Cookie: 'artifactd_session=nope' }, { viaFast: false })).status, 200);
});

test('a package file served by the fast path is counted as a download, an index file, a HEAD or a 304 is not; metrics and the log line as Express', async () => {
  // A package of its own: nothing else downloaded it.
  assert.equal((await upload(srv.url, { name: 'hello-2.0-r0.apk', data: buildApk({ pkginfo: pkginfoFor('counted', '2.0-r0', 'x86_64') }).bytes }, { provider: 'apk', reponame: 'fast-count', branch: 'v3.20/main' })).status, 201);
  const path = '/repo/apk/fast-count/v3.20/main/x86_64/counted-2.0-r0.apk';
  const metrics = async () => (await fetch(`${srv.url}/metrics`, { headers: auth() })).text();
  const counter = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  const downloadsRe = /^artifactd_downloads_total\{provider="apk"\} (\d+)$/m;
  const requestsRe = /^artifactd_http_requests_total\{method="GET",route="\/repo\/apk\/:repo\/\*",status="200"\} (\d+)$/m;
  const before = await metrics();
  const handed = handedOver;
  const ok = await get(fastUrl, path, { 'X-Request-Id': 'fast-path-log-check' });
  assert.equal(ok.status, 200);
  const etag = ok.headers.find((h) => h.startsWith('ETag: '))!.slice(6);
  assert.equal((await get(fastUrl, path, { 'If-None-Match': etag })).status, 304);
  assert.equal((await get(fastUrl, path, {}, 'HEAD')).status, 200);
  assert.equal((await get(fastUrl, '/repo/apk/fast-count/v3.20/main/x86_64/APKINDEX.tar.gz')).status, 200);
  assert.equal(handedOver, handed, 'all four answered by the fast path');
  const afterText = await metrics();
  assert.equal(counter(afterText, downloadsRe) - counter(before, downloadsRe), 1);
  // And stored: the package's count, as the API shows it once flushed (DOWNLOAD_FLUSH_SECONDS=0.1 here).
  const stored = await eventually(async () => Number(/"downloads":(\d+)/.exec(await (await fetch(`${srv.url}/api/repos/apk/fast-count/packages/counted`)).text())?.[1] ?? 0), { accept: (n) => n >= 1 });
  assert.equal(stored, 1);
  assert.equal(counter(afterText, requestsRe) - counter(before, requestsRe), 2); // the package file and APKINDEX
  const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.reqId === 'fast-path-log-check');
  assert.ok(line, 'a log line for the fast request');
  assert.equal(line.msg, 'request');
  assert.equal(line.path, path);
  assert.equal(line.status, 200);
  assert.equal(line.method, 'GET');
});

test("a merging virtual: its own index files from the fast path, its members' package files from Express", async () => {
  const r = await fetch(`${srv.url}/api/repos/apt/fast-all`, { method: 'PUT', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'virtual', members: ['fast'] }) });
  assert.equal(r.status < 300, true, await r.clone().text());
  const inRelease = '/repo/apt/fast-all/dists/stable/InRelease';
  assert.equal((await eventually(async () => (await get(srv.url, inRelease)).status, { ms: 30_000, accept: (s) => s === 200 })), 200);
  const newest = Math.max(...(await srv.services.db.manager.getRepository(GenerationEntity).find()).map((g) => Number(g.createdAt)));
  await eventually(() => Date.now() > newest + 1000, { ms: 30_000 });
  await checkAllForms(inRelease);
  await checkAllForms('/repo/apt/fast-all/dists/stable/main/binary-amd64/Packages.gz');
  assert.equal((await same('/repo/apt/fast-all/pool/main/h/hello/hello_1.0_amd64.deb', {}, { viaFast: false })).status, 200);
});
