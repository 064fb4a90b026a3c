/**
 * Issue 14, PyPI: remote (pull-through cache) and virtual repositories end to end, with a real
 * upstream (a static PEP 503 tree of real wheels served by python3 -m http.server on
 * 127.0.0.1), the real pip in a fresh venv, and the upstream's own request log as the count of
 * upstream fetches. Runs on SQLite with the local blob store, and on MariaDB and PostgreSQL with
 * blobs in s3rver (the production pairing; REMOTE_S3=1 forces s3rver on SQLite too).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startServer, testDbKind, type TestServer } from '../helpers/server';
import { auth, getJson, upload } from '../helpers/http';
import { startStaticUpstream, writeSimpleTree, type StaticUpstream } from '../helpers/static-upstream';
import { makeWheel, metadataText, tmpDir } from '../unit/pypi/helpers';
import { makeVenv, pip, type RunResult } from './pypi-tools';

const dir = tmpDir();
const tree = path.join(dir, 'tree');
let srv: TestServer;
let upstream: StaticUpstream;
let python: string;
const meta = {
  alpha: metadataText('alpha', '1.0', 'Summary: needs beta\nRequires-Dist: beta>=1\nRequires-Python: >=3.7\n'),
  beta1: metadataText('beta', '1.0', 'Summary: the public beta\n'),
  beta2: metadataText('beta', '2.0', 'Summary: the public beta, yanked\n'),
};
const wheels: Record<string, string> = {};
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const ok = (r: RunResult, what: string) => assert.equal(r.code, 0, `${what} failed:\n${r.out}`);

async function put(name: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${srv.url}/api/repos/pypi/${name}`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

function sub(name: string): string {
  const d = fs.mkdtempSync(path.join(dir, `${name}-`));
  return d;
}

before(async () => {
  wheels.alpha = makeWheel(sub('a'), 'alpha-1.0-py3-none-any.whl', meta.alpha);
  wheels.beta1 = makeWheel(sub('b1'), 'beta-1.0-py3-none-any.whl', meta.beta1);
  wheels.beta2 = makeWheel(sub('b2'), 'beta-2.0-py3-none-any.whl', meta.beta2);
  wheels.gamma = makeWheel(sub('g'), 'gamma-1.0-py3-none-any.whl', metadataText('gamma', '1.0'), { extra: [{ name: 'gamma/blob.bin', b64: crypto.randomBytes(3 << 20).toString('base64'), stored: true }] });
  wheels.bad = makeWheel(sub('x'), 'corrupt-1.0-py3-none-any.whl', metadataText('corrupt', '1.0'));
  wheels.hostedBeta = makeWheel(sub('hb'), 'beta-0.5-py3-none-any.whl', metadataText('beta', '0.5', 'Summary: our private beta\n'));
  writeSimpleTree(tree, {
    alpha: [{ file: wheels.alpha, requiresPython: '>=3.7', metadata: meta.alpha }],
    beta: [{ file: wheels.beta1 }, { file: wheels.beta2, yanked: 'broken build' }],
    gamma: [{ file: wheels.gamma }],
    corrupt: [{ file: wheels.bad, claimSha256: 'ab'.repeat(32) }],
  });
  upstream = await startStaticUpstream(tree);
  srv = await startServer({ s3: process.env.REMOTE_S3 === '1' || testDbKind() !== 'sqlite' });
  python = await makeVenv(path.join(dir, 'venv'));
});
after(async () => {
  await upstream.stop();
  await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('PUT creates a remote; GET shows its type, upstream and cache; bad bodies are 400s that say why', async () => {
  const created = await put('up', { type: 'remote', upstream: `${upstream.url}/simple/`, auth: { type: 'basic', username: 'u', password: 'secret-pw' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.type, 'remote');
  assert.deepEqual(created.body.remote.auth, { type: 'basic', username: 'u' }, 'credentials are never shown');
  assert.ok(!JSON.stringify(created.body).includes('secret-pw'));
  const shown = await getJson(`${srv.url}/api/repos/pypi/up`);
  assert.equal(shown.body.type, 'remote');
  assert.equal(shown.body.upstream, `${upstream.url}/simple/`);
  assert.equal(shown.body.remote.metadataTtl, 600);
  assert.deepEqual(shown.body.cache, { files: 0, size: 0, indexFiles: 0, indexSize: 0, hits: 0, misses: 0 });
  // Credentials stay out of the stored row in clear only when MASTER_KEY is unset; never in the API.
  const bad = await put('up2', { type: 'remote', upstream: 'ftp://x/' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /http or https/);
  const creds = await put('up2', { type: 'remote', upstream: 'http://u:p@127.0.0.1/simple/' });
  assert.equal(creds.status, 400);
  assert.match(creds.body.error, /credentials/);
  const noMember = await put('v2', { type: 'virtual', members: ['nope'] });
  assert.equal(noMember.status, 400);
  assert.match(noMember.body.error, /member "nope"/);
  const anon = await fetch(`${srv.url}/api/repos/pypi/up3`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"type":"remote","upstream":"http://127.0.0.1/"}' });
  assert.equal(anon.status, 401);
});

test('a remote project page: file URLs point here, hashes, requires-python, yanks and PEP 658 metadata kept', async () => {
  const res = await fetch(`${srv.url}/repo/pypi/up/simple/alpha/`);
  assert.equal(res.status, 200);
  const html = await res.text();
  const alphaSha = sha(fs.readFileSync(wheels.alpha));
  assert.ok(html.includes(`href="/repo/pypi/up/files/alpha/alpha-1.0-py3-none-any.whl#sha256=${alphaSha}"`), html);
  assert.ok(html.includes('data-requires-python="&gt;=3.7"'), html);
  assert.ok(html.includes(`data-core-metadata="sha256=${sha(Buffer.from(meta.alpha))}"`), html);
  assert.ok(!html.includes(upstream.url), 'no upstream URL leaks into the page');
  const json = await getJson(`${srv.url}/repo/pypi/up/simple/beta/`, { Accept: 'application/vnd.pypi.simple.v1+json' });
  assert.equal(json.status, 200);
  const yanked = json.body.files.find((f: any) => f.filename === 'beta-2.0-py3-none-any.whl');
  assert.equal(yanked.yanked, 'broken build');
  assert.deepEqual(json.body.versions, ['1.0', '2.0']);
  // The metadata file comes through the remote too, verified against its hash.
  const md = await fetch(`${srv.url}/repo/pypi/up/files/alpha/alpha-1.0-py3-none-any.whl.metadata`);
  assert.equal(md.status, 200);
  assert.equal(await md.text(), meta.alpha);
  const root = await fetch(`${srv.url}/repo/pypi/up/simple/`);
  assert.match(await root.text(), /href="gamma\/"/);
});

test('pip installs a package and its dependency through the remote; files are cached with origin and time', async () => {
  const target = path.join(dir, 'site1');
  ok(await pip(python, 'install', ['--index-url', `${srv.url}/repo/pypi/up/simple/`, '--target', target, 'alpha']), 'pip install alpha');
  assert.ok(fs.existsSync(path.join(target, 'alpha', '__init__.py')));
  assert.match(fs.readFileSync(path.join(target, 'beta', '__init__.py'), 'utf8'), /"1.0"/, 'the yanked 2.0 is skipped');
  const cache = await getJson(`${srv.url}/api/repos/pypi/up/cache`);
  assert.equal(cache.status, 200);
  const whl = cache.body.files.find((f: any) => f.path === 'files/alpha/alpha-1.0-py3-none-any.whl');
  assert.ok(whl, JSON.stringify(cache.body));
  assert.equal(whl.origin, `${upstream.url}/files/alpha-1.0-py3-none-any.whl`);
  assert.equal(whl.sha256, sha(fs.readFileSync(wheels.alpha)));
  assert.ok(Date.parse(whl.fetchedAt) > Date.now() - 120_000);
});

test('20 parallel first requests for a file cause one upstream fetch and all get the right bytes', async () => {
  await (await fetch(`${srv.url}/repo/pypi/up/simple/gamma/`)).text();
  const before = upstream.requests().filter((p) => p.endsWith('gamma-1.0-py3-none-any.whl')).length;
  assert.equal(before, 0);
  const want = sha(fs.readFileSync(wheels.gamma));
  const bodies = await Promise.all(Array.from({ length: 20 }, async () => {
    const r = await fetch(`${srv.url}/repo/pypi/up/files/gamma/gamma-1.0-py3-none-any.whl`);
    assert.equal(r.status, 200);
    return sha(Buffer.from(await r.arrayBuffer()));
  }));
  assert.deepEqual(new Set(bodies), new Set([want]));
  assert.equal(upstream.requests().filter((p) => p.endsWith('gamma-1.0-py3-none-any.whl')).length, 1, 'one upstream download');
});

test('a corrupted upstream file (sha256 mismatch) is a 502 and nothing is cached', async () => {
  await (await fetch(`${srv.url}/repo/pypi/up/simple/corrupt/`)).text();
  const url = `${srv.url}/repo/pypi/up/files/corrupt/corrupt-1.0-py3-none-any.whl`;
  // The first client was streamed to: its transfer breaks off before the last chunk.
  const first = await fetch(url).then(async (r) => ({ status: r.status, body: await r.arrayBuffer().then((b) => Buffer.from(b)).catch(() => null) })).catch(() => null);
  assert.ok(first === null || first.body === null || first.status === 502, 'the first transfer never completes with the wrong bytes');
  const second = await getJson(url);
  assert.equal(second.status, 502);
  assert.equal(second.body.code, 'upstream_checksum_mismatch');
  assert.match(second.body.error, /sha256/);
  const cache = await getJson(`${srv.url}/api/repos/pypi/up/cache?limit=1000`);
  assert.ok(!cache.body.files.some((f: any) => f.path.includes('corrupt-1.0')), 'nothing kept');
  const blobs = srv.services.blobs;
  assert.equal(await blobs.stat(`blobs/sha256/${sha(fs.readFileSync(wheels.bad)).slice(0, 2)}/${sha(fs.readFileSync(wheels.bad)).slice(2, 4)}/${sha(fs.readFileSync(wheels.bad))}`), null);
  assert.equal((await fetch(`${srv.url}/healthz`)).status, 200, 'still serving');
});

test('virtual: pip installs through [hosted, remote]; a hosted project shadows the upstream one', async () => {
  const up = await upload(srv.url, wheels.hostedBeta, { reponame: 'local', provider: 'pypi' });
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const v = await put('all', { type: 'virtual', members: ['local', 'up'] });
  assert.equal(v.status, 201, JSON.stringify(v.body));
  assert.deepEqual(v.body.members, ['local', 'up']);
  const beta = await getJson(`${srv.url}/repo/pypi/all/simple/beta/`, { Accept: 'application/vnd.pypi.simple.v1+json' });
  assert.deepEqual(beta.body.files.map((f: any) => f.filename), ['beta-0.5-py3-none-any.whl'], 'the upstream beta is never listed');
  const alpha = await getJson(`${srv.url}/repo/pypi/all/simple/alpha/`, { Accept: 'application/vnd.pypi.simple.v1+json' });
  assert.equal(alpha.body.files[0].url, '/repo/pypi/up/files/alpha/alpha-1.0-py3-none-any.whl');
  const projects = await getJson(`${srv.url}/repo/pypi/all/simple/`, { Accept: 'application/vnd.pypi.simple.v1+json' });
  assert.deepEqual(projects.body.projects.map((p: any) => p.name).sort(), ['alpha', 'beta', 'corrupt', 'gamma']);
  // pip resolves alpha from the upstream and its dependency beta from the hosted member only:
  // beta>=1 cannot be met by the private 0.5, and the public 1.0 must not be reachable.
  const t = path.join(dir, 'site2');
  const r = await pip(python, 'install', ['--index-url', `${srv.url}/repo/pypi/all/simple/`, '--target', t, 'alpha']);
  assert.notEqual(r.code, 0, 'the public beta would have satisfied beta>=1');
  assert.match(r.out, /beta/);
  ok(await pip(python, 'install', ['--index-url', `${srv.url}/repo/pypi/all/simple/`, '--target', t, 'beta']), 'pip install beta');
  assert.match(fs.readFileSync(path.join(t, 'beta', '__init__.py'), 'utf8'), /"0.5"/);
  // mergeRemoteProjects turns merging on: then alpha and its public dependency install.
  assert.equal((await put('merged', { type: 'virtual', members: ['local', 'up'], mergeRemoteProjects: true })).status, 201);
  const t3 = path.join(dir, 'site3');
  ok(await pip(python, 'install', ['--index-url', `${srv.url}/repo/pypi/merged/simple/`, '--target', t3, 'alpha']), 'pip install through a merging virtual');
  assert.match(fs.readFileSync(path.join(t3, 'beta', '__init__.py'), 'utf8'), /"1.0"/);
});

test('uploads into a virtual or remote repository are refused, naming the hosted member', async () => {
  const toVirtual = await upload(srv.url, wheels.hostedBeta, { reponame: 'all', provider: 'pypi' });
  assert.equal(toVirtual.status, 400);
  assert.match(String(toVirtual.body.error), /hosted member "local"/);
  const toRemote = await upload(srv.url, wheels.hostedBeta, { reponame: 'up', provider: 'pypi' });
  assert.equal(toRemote.status, 400);
  assert.match(String(toRemote.body.error), /remote repository/);
  const twine = await fetch(`${srv.url}/repo/pypi/all/`, { method: 'POST', headers: auth(), body: new FormData() });
  assert.equal(twine.status, 400);
});

test('a slow upstream is bounded by the timeout: 504 JSON', async () => {
  const hang = http.createServer(() => undefined);
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (hang.address() as AddressInfo).port;
    assert.equal((await put('slow', { type: 'remote', upstream: `http://127.0.0.1:${port}/simple/`, timeoutSeconds: 1 })).status, 201);
    const t0 = Date.now();
    const r = await getJson(`${srv.url}/repo/pypi/slow/simple/alpha/`);
    assert.equal(r.status, 504);
    assert.equal(r.body.code, 'upstream_timeout');
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    hang.closeAllConnections();
    hang.close();
  }
});

test('upstream stopped: installs work from the cache; an expired page is served stale; never cached is a 502', async () => {
  assert.equal((await put('up0', { type: 'remote', upstream: `${upstream.url}/simple/`, metadataTtl: 0 })).status, 201);
  await (await fetch(`${srv.url}/repo/pypi/up0/simple/alpha/`)).text();
  await upstream.stop();
  const t = path.join(dir, 'site4');
  ok(await pip(python, 'install', ['--index-url', `${srv.url}/repo/pypi/up/simple/`, '--target', t, 'alpha']), 'pip install with the upstream stopped');
  const stale = await fetch(`${srv.url}/repo/pypi/up0/simple/alpha/`);
  assert.equal(stale.status, 200);
  assert.match(stale.headers.get('warning') ?? '', /^111 /);
  const never = await getJson(`${srv.url}/repo/pypi/up/simple/neverseen/`);
  assert.equal(never.status, 502);
  assert.equal(never.body.code, 'upstream_failed');
  assert.match(never.body.error, /could not be reached/);
  const shown = await getJson(`${srv.url}/api/repos/pypi/up`);
  assert.ok(shown.body.cache.hits > 0 && shown.body.cache.misses > 0, JSON.stringify(shown.body.cache));
  assert.ok(shown.body.cache.files >= 3);
});
