/**
 * Issue 13, "unauthenticated slow bodies: set sane header and request timeouts": a client that
 * trickles its headers is cut after HEADERS_TIMEOUT_SECONDS, one that trickles its body (a byte
 * now and then, so the body idle timer never fires) after REQUEST_TIMEOUT_SECONDS; both get a
 * 408 JSON answer and a closed connection, the upload leaves no temp file, and the server keeps
 * serving. Small timeouts here (1 s and 3 s); the defaults are 30 s and 6 h. The other answers
 * Node gives itself before a request reaches the app (unparsable, headers too large) are JSON too.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { auth, upload } from '../helpers/http';
import { rawRequest, trickleRequest } from '../helpers/raw-http';
import { startServer, type TestServer } from '../helpers/server';
import { eventually } from '../helpers/eventually';

const HEADERS_S = 1;
const REQUEST_S = 3;
let srv: TestServer;

before(async () => {
  srv = await startServer({ env: { HEADERS_TIMEOUT_SECONDS: String(HEADERS_S), REQUEST_TIMEOUT_SECONDS: String(REQUEST_S), BODY_IDLE_TIMEOUT_SECONDS: '60' } });
});
after(() => srv.stop());

/** One byte per piece. */
const bytes = (s: string) => [...s];

function assertTimedOut(r: Awaited<ReturnType<typeof trickleRequest>>, afterMs: number): void {
  assert.equal(r.closedByServer, true, `the server closed the connection: ${JSON.stringify(r)}`);
  assert.equal(r.status, 408, JSON.stringify(r));
  assert.equal(r.headers.connection, 'close');
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(r.body) as { error: string; code: string };
  assert.equal(body.code, 'request_timeout');
  assert.match(body.error, /HEADERS_TIMEOUT_SECONDS/);
  // Not before the deadline (the client was still sending, honestly if slowly).
  assert.ok(r.elapsedMs >= afterMs - 50, `cut after ${r.elapsedMs} ms, before the ${afterMs} ms deadline`);
}

test('headers sent a byte every 100 ms are cut with 408 after HEADERS_TIMEOUT_SECONDS', async () => {
  // 200 bytes of headers at 10 bytes/s would take 20 s; the deadline is 1 s.
  const head = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(150)}\r\n\r\n`;
  const r = await trickleRequest(srv.url, bytes(head), 100, 15_000);
  assertTimedOut(r, HEADERS_S * 1000);
  assert.ok(r.elapsedMs < 15_000, 'cut long before the trickle would have ended');
});

test('an upload body trickled a byte every 200 ms is cut with 408 after REQUEST_TIMEOUT_SECONDS; no temp file is left', async () => {
  const boundary = 'sl0w';
  const part = `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="slow-1.0.tar.gz"\r\n\r\n`;
  const head =
    `POST /addpkg?provider=tar&reponame=slow&name=slow&version=1.0 HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth().Authorization}\r\n` +
    `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${part.length + 1000}\r\n\r\n`;
  // The headers and the part header at once, then the file one byte every 200 ms (200 s in all):
  // never idle for BODY_IDLE_TIMEOUT_SECONDS, so only the whole-request deadline can end it.
  const r = await trickleRequest(srv.url, [head + part, ...bytes('x'.repeat(1000))], 200, 20_000);
  assertTimedOut(r, REQUEST_S * 1000);
  assert.ok(r.elapsedMs < 20_000);
  const tmp = path.join(srv.dataDir, 'tmp');
  assert.ok(await eventually(() => !fs.existsSync(tmp) || fs.readdirSync(tmp).length === 0), `temp files left: ${fs.existsSync(tmp) ? fs.readdirSync(tmp).join(', ') : ''}`);
  const list = await fetch(`${srv.url}/api/repos/tar/slow/packages`, { headers: auth() });
  assert.equal(list.status, 404, 'nothing was stored');
});

test('a request Node cannot parse is a 400, headers over the size limit a 431: JSON like every other error', async () => {
  const garbage = await rawRequest(srv.url, 'NOT HTTP AT ALL', '', 5000);
  assert.equal(garbage.status, 400, JSON.stringify(garbage));
  assert.equal(JSON.parse(garbage.body).code, 'bad_request');
  assert.equal(garbage.closedByServer, true);
  const huge = await rawRequest(srv.url, `GET /healthz HTTP/1.1\nHost: x\nX-Big: ${'a'.repeat(20_000)}`, '', 5000);
  assert.equal(huge.status, 431, JSON.stringify(huge));
  assert.equal(JSON.parse(huge.body).code, 'headers_too_large');
});

test('the server keeps serving: requests sent at once are not affected by the short deadlines', async () => {
  const r = await fetch(`${srv.url}/healthz`);
  assert.equal(r.status, 200);
  const up = await upload(srv.url, { name: 'quick-1.0.tar.gz', data: Buffer.alloc(64 * 1024, 1) }, { provider: 'tar', reponame: 'slow', name: 'quick', version: '1.0' });
  assert.equal(up.status, 201, JSON.stringify(up.body));
});
