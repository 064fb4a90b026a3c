/**
 * Issue 14, faults of an upstream, each against a real loopback HTTP server that misbehaves
 * on purpose: 5xx (cached index served stale with a Warning header and a warn log line; never
 * cached: 502 JSON naming the status), an upstream that accepts and never answers (504 within
 * the remote's timeout), one that stalls mid-body, and a file whose bytes do not match the
 * index's sha256: the client it is streamed to must never see a complete body (curl, a real
 * client, reports the transfer as failed), and nothing is kept.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { getJson } from '../helpers/http';
import { rawRequest } from '../helpers/raw-http';

/** What the upstream does for a path: answer with bytes (sized or chunked), fail, hang, or stall mid-body. */
type Behaviour = { status: number; body: Buffer; chunked?: boolean } | 'hang' | { stallAfter: number; total: number };

const routes = new Map<string, Behaviour>();
const requests: string[] = [];
let upstream: http.Server;
let upUrl: string;
let srv: TestServer;
const logLines: string[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-faults-'));
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const payload = crypto.randomBytes(1 << 20);

before(async () => {
  upstream = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const b = routes.get(req.url ?? '');
    if (!b) return void res.writeHead(404).end('no');
    if (b === 'hang') return; // accepted, never answered
    if ('stallAfter' in b) {
      res.writeHead(200, { 'content-length': String(b.total) });
      res.write(payload.subarray(0, b.stallAfter));
      return; // never the rest
    }
    if (b.chunked) {
      res.writeHead(b.status, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < b.body.length; i += 64 << 10) res.write(b.body.subarray(i, i + (64 << 10)));
      return void res.end();
    }
    res.writeHead(b.status, { 'content-length': String(b.body.length) }).end(b.body);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  upUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  srv = await startServer({ logLines });
});
after(async () => {
  upstream.closeAllConnections();
  upstream.close();
  await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function put(repo: string, body: unknown): Promise<void> {
  const r = await fetch(`${srv.url}/api/repos/${repo}`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(r.status < 300, await r.text());
}

const page = (files: { name: string; sha: string }[]) => Buffer.from(`<!DOCTYPE html><html><body>\n${files.map((f) => `<a href="/files/${f.name}#sha256=${f.sha}">${f.name}</a><br/>`).join('\n')}\n</body></html>\n`);

test('upstream 5xx: a cached index is served stale with a Warning header and a warn log line; never cached is a 502 naming the status', async () => {
  await put('pypi/flaky', { type: 'remote', upstream: `${upUrl}/simple/`, metadataTtl: 0 });
  const html = page([{ name: 'ok-1.0-py3-none-any.whl', sha: sha(payload) }]);
  routes.set('/simple/ok/', { status: 200, body: html });
  const first = await fetch(`${srv.url}/repo/pypi/flaky/simple/ok/`);
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('warning'), null);
  const fresh = await first.text();
  routes.set('/simple/ok/', { status: 503, body: Buffer.from('down for maintenance') });
  const stale = await fetch(`${srv.url}/repo/pypi/flaky/simple/ok/`);
  assert.equal(stale.status, 200);
  assert.match(stale.headers.get('warning') ?? '', /^111 artifactd "Revalidation Failed: .*HTTP 503/);
  assert.equal(stale.headers.get('x-cache'), 'STALE');
  assert.equal(await stale.text(), fresh, 'the cached bytes');
  const warned = logLines.map((l) => JSON.parse(l)).find((l) => l.level === 'warn' && /serving the cached index stale/.test(l.msg));
  assert.ok(warned, 'a warn log line');
  assert.equal(warned.repo, 'pypi/flaky');
  assert.match(warned.error, /HTTP 503/);

  await put('tar/flaky', { type: 'remote', upstream: `${upUrl}/` });
  routes.set('/broken.bin', { status: 500, body: Buffer.from('oops') });
  const never = await getJson(`${srv.url}/repo/tar/flaky/broken.bin`);
  assert.equal(never.status, 502);
  assert.equal(never.body.code, 'upstream_failed');
  assert.match(never.body.error, /HTTP 500/);
  assert.equal((await getJson(`${srv.url}/api/repos/tar/flaky/cache`)).body.total, 0);
});

test('an upstream that accepts and never answers: 504 JSON once the remote timeout passes (index and package file)', async () => {
  await put('tar/hung', { type: 'remote', upstream: `${upUrl}/`, timeoutSeconds: 1 });
  await put('pypi/hung', { type: 'remote', upstream: `${upUrl}/simple/`, timeoutSeconds: 1 });
  routes.set('/hang.bin', 'hang');
  routes.set('/simple/hang/', 'hang');
  for (const url of [`${srv.url}/repo/tar/hung/hang.bin`, `${srv.url}/repo/pypi/hung/simple/hang/`]) {
    const r = await getJson(url);
    assert.equal(r.status, 504, url);
    assert.equal(r.body.code, 'upstream_timeout');
    assert.match(r.body.error, /did not answer .* within 1s/);
  }
});

test('an upstream stalling mid-body: the client gets a cut connection (never the announced length), nothing is kept', async () => {
  await put('tar/stall', { type: 'remote', upstream: `${upUrl}/`, timeoutSeconds: 1 });
  routes.set('/stall.bin', { stallAfter: 256 << 10, total: payload.length });
  const r = await rawRequest(srv.url, 'GET /repo/tar/stall/stall.bin HTTP/1.1\nHost: x\nConnection: close', '', 10_000);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], String(payload.length));
  assert.ok(r.closedByServer, 'the server cut the connection');
  assert.ok(Buffer.byteLength(r.body, 'latin1') < payload.length);
  const cache = await getJson(`${srv.url}/api/repos/tar/stall/cache`);
  assert.equal(cache.body.total, 0);
  assert.deepEqual(fs.readdirSync(srv.services.tmpDir).filter((f) => f.startsWith('remote-')), [], 'no temp file left');
});

test('a sha256 mismatch: the streamed client never gets a complete body (sized or chunked; curl fails), later ones a 502, nothing kept', async () => {
  await put('pypi/bad', { type: 'remote', upstream: `${upUrl}/simple/` });
  const claimed = 'ab'.repeat(32);
  routes.set('/simple/bad/', { status: 200, body: page([{ name: 'bad-1.0-py3-none-any.whl', sha: claimed }, { name: 'bad-1.1-py3-none-any.whl', sha: claimed }]) });
  routes.set('/files/bad-1.0-py3-none-any.whl', { status: 200, body: payload });
  routes.set('/files/bad-1.1-py3-none-any.whl', { status: 200, body: payload, chunked: true });
  assert.equal((await fetch(`${srv.url}/repo/pypi/bad/simple/bad/`)).status, 200);

  // Sized: the Content-Length is announced, fewer bytes arrive, the server closes.
  const sized = await rawRequest(srv.url, 'GET /repo/pypi/bad/files/bad/bad-1.0-py3-none-any.whl HTTP/1.1\nHost: x\nConnection: close', '', 10_000);
  assert.equal(sized.status, 200);
  assert.equal(sized.headers['content-length'], String(payload.length));
  assert.ok(sized.closedByServer);
  assert.ok(Buffer.byteLength(sized.body, 'latin1') < payload.length, 'not the whole body');

  // Chunked (the upstream sent no length): the terminating zero-length chunk never comes, and curl says so.
  const out = path.join(dir, 'bad.whl');
  // Not spawnSync: the server runs in this process and must keep answering while curl waits.
  const curl = await new Promise<{ status: number; stderr: string }>((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', '-o', out, `${srv.url}/repo/pypi/bad/files/bad/bad-1.1-py3-none-any.whl`], (err, _stdout, stderr) => resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }));
  });
  assert.notEqual(curl.status, 0, `curl must report a failed transfer: ${curl.stderr}`);
  assert.notEqual(curl.status, 28, `not a timeout: ${curl.stderr}`);
  assert.match(curl.stderr, /transfer closed|end of response|chunk|Recv failure/i);
  assert.ok(fs.statSync(out).size < payload.length);

  for (const f of ['bad-1.0', 'bad-1.1']) {
    const again = await getJson(`${srv.url}/repo/pypi/bad/files/bad/${f}-py3-none-any.whl`);
    assert.equal(again.status, 502);
    assert.equal(again.body.code, 'upstream_checksum_mismatch');
    assert.equal(again.body.details?.expected ?? claimed, claimed);
  }
  const cache = await getJson(`${srv.url}/api/repos/pypi/bad/cache`);
  assert.ok(!cache.body.files.some((f: { kind: string }) => f.kind === 'package'), 'nothing kept');
  assert.equal(await srv.services.blobs.stat(`blobs/sha256/${sha(payload).slice(0, 2)}/${sha(payload).slice(2, 4)}/${sha(payload)}`), null);
  assert.ok(logLines.some((l) => /checksum mismatch/.test(l)), 'a warn log line');
});
