/** Issue 14, tar: a remote of any HTTP base URL (python3 -m http.server on 127.0.0.1); files cached on first fetch. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, ADMIN_TOKEN } from '../helpers/server';
import { testDbKind } from '../helpers/test-db';
import { getJson } from '../helpers/http';
import { startStaticUpstream } from '../helpers/static-upstream';

test('a tar remote fetches a file once, serves it from the store with the upstream stopped, and 404s what the upstream lacks', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-remote-'));
  const data = crypto.randomBytes(1 << 20);
  fs.mkdirSync(path.join(dir, 'rel'));
  fs.writeFileSync(path.join(dir, 'rel', 'tool-1.0.tar.gz'), data);
  const upstream = await startStaticUpstream(dir);
  const srv = await startServer({ s3: testDbKind() !== 'sqlite' }); // MariaDB and PostgreSQL passes: blobs on s3rver (issue 14: SQLite and MariaDB+S3)
  try {
    const put = await fetch(`${srv.url}/api/repos/tar/mirror`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'remote', upstream: `${upstream.url}/` }) });
    assert.equal(put.status, 201, await put.text());
    const url = `${srv.url}/repo/tar/mirror/rel/tool-1.0.tar.gz`;
    const first = await fetch(url);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    assert.ok(Buffer.from(await first.arrayBuffer()).equals(data));
    const second = await fetch(url);
    assert.ok(Buffer.from(await second.arrayBuffer()).equals(data));
    assert.equal(upstream.requests().filter((p) => p === '/rel/tool-1.0.tar.gz').length, 1);
    const missing = await getJson(`${srv.url}/repo/tar/mirror/rel/nope.tar.gz`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.error, /upstream has no/);
    await upstream.stop();
    const third = await fetch(url);
    assert.equal(third.status, 200);
    assert.ok(Buffer.from(await third.arrayBuffer()).equals(data));
    const down = await getJson(`${srv.url}/repo/tar/mirror/rel/other.tar.gz`);
    assert.equal(down.status, 502);
    const shown = await getJson(`${srv.url}/api/repos/tar/mirror`);
    assert.equal(shown.body.cache.files, 1);
    assert.equal(shown.body.cache.size, data.length);
  } finally {
    await upstream.stop();
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
