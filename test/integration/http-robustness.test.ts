/**
 * Issue 13 (part 2), HTTP robustness: JSON bodies are not read before a token is checked,
 * stalled bodies are cut (408) instead of holding a connection forever, and every body-parser
 * refusal is a 4xx `{error, code}` (never a 500). Runs on SQLite and on MariaDB (TEST_DB=mysql).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { auth, upload } from '../helpers/http';
import { rawRequest } from '../helpers/raw-http';

let srv: TestServer;
const logLines: string[] = [];

before(async () => {
  srv = await startServer({ env: { BODY_IDLE_TIMEOUT_SECONDS: '1' }, logLines });
  const r = await upload(srv.url, { name: 'a.bin', data: Buffer.from('a') }, { provider: 'tar', reponame: 'robust', name: 'a', version: '1' });
  assert.equal(r.status, 201);
});
after(() => srv.stop());

const unhandled = () => logLines.filter((l) => l.includes('unhandled error'));
const settingsUrl = () => `${srv.url}/api/repos/tar/robust/settings`;

async function patchSettings(headers: Record<string, string>, body: Buffer | string): Promise<{ status: number; body: { error: string; code: string } }> {
  const res = await fetch(settingsUrl(), { method: 'PATCH', headers: { ...auth(), ...headers }, body });
  return { status: res.status, body: (await res.json()) as { error: string; code: string } };
}

test('an anonymous JSON request is refused with 401 before its body is read', async () => {
  // 1 MB announced, 20 bytes sent: the answer must come without the rest of the body.
  const r = await rawRequest(srv.url, 'POST /api/tokens HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 1000000', '{"name":"x","role":"a', 3000);
  assert.equal(r.status, 401, JSON.stringify(r));
  assert.equal(JSON.parse(r.body).code, 'unauthorized');
  assert.match(r.headers['www-authenticate'] ?? '', /^Basic/);
  assert.equal(r.closedByServer, true, 'the connection is closed rather than the unread body drained');
  assert.ok(r.elapsedMs < 3000);
});

test('an upload refused for its token is answered at once and the connection closed, not the body drained', async () => {
  const boundary = 'b0undary';
  const head = (token: string) => `POST /addpkg?provider=tar&reponame=robust&name=big&version=1 HTTP/1.1\nHost: x\n${token}Content-Type: multipart/form-data; boundary=${boundary}\nContent-Length: 100000000`;
  const part = `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n\r\n` + 'x'.repeat(1000);
  const anon = await rawRequest(srv.url, head(''), part, 3000);
  assert.equal(anon.status, 401, JSON.stringify(anon));
  assert.equal(anon.closedByServer, true);
  const reader = (await srv.services.tokens.create({ name: 'robust-reader', role: 'read' })).token;
  const ro = await rawRequest(srv.url, head(`Authorization: Bearer ${reader}\n`), part, 3000);
  assert.equal(ro.status, 403, JSON.stringify(ro));
  assert.equal(ro.closedByServer, true);
});

test('a request body that stalls is answered 408 after BODY_IDLE_TIMEOUT_SECONDS and the server keeps serving', async () => {
  const r = await rawRequest(srv.url, `POST /api/gc HTTP/1.1\nHost: x\nAuthorization: Bearer ${ADMIN_TOKEN}\nContent-Type: application/json\nContent-Length: 100`, '{"dry', 10_000);
  assert.equal(r.status, 408, JSON.stringify(r));
  assert.equal(JSON.parse(r.body).code, 'request_timeout');
  assert.equal(r.closedByServer, true);
  assert.ok(r.elapsedMs >= 900 && r.elapsedMs < 8000, `cut after about a second, took ${r.elapsedMs} ms`);
  assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
});

test('a stalled multipart upload is cut with 408 and leaves no temp file or repository behind', async () => {
  const boundary = 'b0undary';
  const part = `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n` + 'x'.repeat(5000);
  const r = await rawRequest(
    srv.url,
    `POST /addpkg?provider=tar&reponame=stalled&name=big&version=1 HTTP/1.1\nHost: x\nAuthorization: Bearer ${ADMIN_TOKEN}\nContent-Type: multipart/form-data; boundary=${boundary}\nContent-Length: 10000000`,
    part,
    10_000,
  );
  assert.equal(r.status, 408, JSON.stringify(r));
  await new Promise((res) => setTimeout(res, 300));
  const tmp = path.join(srv.dataDir, 'tmp');
  assert.deepEqual(fs.existsSync(tmp) ? fs.readdirSync(tmp) : [], [], 'the partial upload was deleted');
  assert.equal(await srv.services.repos.find('tar', 'stalled'), null);
});

test('a body that keeps arriving slowly is not cut by the idle timeout', async () => {
  // Three pieces 600 ms apart (each gap < 1 s idle timeout; 1.2 s in total > the timeout).
  const body = '{"dryRun":true}';
  const u = new URL(srv.url);
  const net = await import('node:net');
  const socket = net.connect(Number(u.port), u.hostname);
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  await new Promise((res) => socket.on('connect', res));
  socket.write(`POST /api/gc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  for (const piece of [body.slice(0, 5), body.slice(5, 10), body.slice(10)]) {
    await new Promise((res) => setTimeout(res, 600));
    socket.write(piece);
  }
  await new Promise((res) => socket.on('close', res));
  const text = Buffer.concat(chunks).toString();
  assert.match(text, /^HTTP\/1\.1 200 /, text);
  assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).dryRun, true);
});

test('body-parser refusals are 4xx JSON errors that say what is wrong, never 500', async () => {
  const json = { 'Content-Type': 'application/json' };
  const big = JSON.stringify({ description: 'x'.repeat(3 * 1024 * 1024) });
  const cases: [string, Record<string, string>, Buffer | string, number, string, RegExp][] = [
    ['over the size limit', json, big, 413, 'too_large', /larger than \d+ bytes/],
    ['over the limit once inflated', { ...json, 'Content-Encoding': 'gzip' }, zlib.gzipSync(big), 413, 'too_large', /larger than/],
    ['unsupported Content-Encoding', { ...json, 'Content-Encoding': 'compress' }, '{}', 415, 'unsupported_media_type', /content encoding "compress"/],
    ['corrupt gzip', { ...json, 'Content-Encoding': 'gzip' }, 'this is not gzip', 400, 'bad_request', /cannot be decoded/],
    ['unknown charset', { 'Content-Type': 'application/json; charset=latin1' }, '{}', 415, 'unsupported_media_type', /charset "LATIN1"/i],
    ['malformed JSON', json, '{"keep": ', 400, 'bad_request', /malformed JSON/],
  ];
  for (const [what, headers, body, status, code, message] of cases) {
    const r = await patchSettings(headers, body);
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, what);
    assert.match(r.body.error, message, what);
  }
  // A gzip body within the limit still works: the checks refuse only what is wrong.
  const ok = await patchSettings({ ...json, 'Content-Encoding': 'gzip' }, zlib.gzipSync(JSON.stringify({ keep: 3 })));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const settings = await (await fetch(settingsUrl(), { headers: auth() })).json();
  assert.deepEqual((settings as { settings: unknown }).settings, { keep: 3 }, 'nothing from the refused bodies was stored');
  // One 2 MiB limit for all of /api: a 1.5 MiB key import is read (and refused as a bad key, not as too large).
  const importUrl = settingsUrl().replace(/\/settings$/, '/keys/import');
  const bigKey = await fetch(importUrl, { method: 'POST', headers: { ...auth(), ...json }, body: JSON.stringify({ armoredPrivateKey: 'x'.repeat(1024 * 1024 - 100) + 'y'.repeat(512 * 1024) }) });
  assert.equal(bigKey.status, 400, await bigKey.clone().text());
  assert.deepEqual(unhandled(), []);
});

test('a client that disconnects mid-body is no 500 and the server keeps serving', async () => {
  const r = await rawRequest(srv.url, `PATCH /api/repos/tar/robust/settings HTTP/1.1\nHost: x\nAuthorization: Bearer ${ADMIN_TOKEN}\nContent-Type: application/json\nContent-Length: 1000`, '{"keep":', 200);
  assert.equal(r.status, null, 'no answer yet when the client goes away');
  await new Promise((res) => setTimeout(res, 300));
  assert.deepEqual(unhandled(), []);
  assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
});
