/**
 * Issue 14, the cache size limit: least recently used package files are evicted past
 * `cacheMaxBytes` (by last access, hits included), index files never are, and `gc` never
 * removes a blob a cached row or index references. Real upstreams (python3 -m http.server on
 * 127.0.0.1), counted on their own request logs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGc } from '../../src/core/gc';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { getJson } from '../helpers/http';
import { eventually } from '../helpers/eventually';
import { startStaticUpstream, writeSimpleTree } from '../helpers/static-upstream';
import { makeWheel, metadataText } from '../unit/pypi/helpers';

const KiB = 1024;
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function put(srv: TestServer, repo: string, body: unknown): Promise<void> {
  const r = await fetch(`${srv.url}/api/repos/${repo}`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(r.status === 200 || r.status === 201, `PUT ${repo}: ${r.status} ${await r.text()}`);
}

async function get(url: string): Promise<{ status: number; cache: string | null; sha: string }> {
  const r = await fetch(url);
  return { status: r.status, cache: r.headers.get('x-cache'), sha: sha(Buffer.from(await r.arrayBuffer())) };
}

/** A blob store key exists? (the bytes of an evicted file must be gone, a cached one's kept) */
async function stored(srv: TestServer, hex: string): Promise<boolean> {
  return (await srv.services.blobs.stat(`blobs/sha256/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`)) !== null;
}

test('LRU eviction: A, B fetched, A read again, C fetched -> B goes (not A); size stays under the limit; B is fetched again; gc keeps what is cached', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-lru-'));
  const files: Record<string, Buffer> = {};
  for (const n of ['a', 'b', 'c']) {
    files[n] = crypto.randomBytes(100 * KiB);
    fs.writeFileSync(path.join(dir, `${n}.bin`), files[n]!);
  }
  const upstream = await startStaticUpstream(dir);
  const srv = await startServer();
  const limit = 250 * KiB;
  const asked = (n: string) => upstream.requests().filter((p) => p === `/${n}.bin`).length;
  const url = (n: string) => `${srv.url}/repo/tar/lru/${n}.bin`;
  try {
    await put(srv, 'tar/lru', { type: 'remote', upstream: `${upstream.url}/`, cacheMaxBytes: limit });
    assert.equal((await get(url('a'))).cache, 'MISS');
    assert.equal((await get(url('b'))).cache, 'MISS');
    // A's hit must be later than B's fetch on the millisecond clock the LRU orders by.
    await new Promise((r) => setTimeout(r, 5));
    const again = await get(url('a'));
    assert.equal(again.cache, 'HIT');
    assert.equal(again.sha, sha(files.a!));
    await new Promise((r) => setTimeout(r, 5));
    const c = await get(url('c'));
    assert.equal(c.sha, sha(files.c!));
    // Eviction runs after C's last byte went out: poll the cache figures.
    const shown = await eventually(async () => (await getJson(`${srv.url}/api/repos/tar/lru`)).body.cache, { accept: (v) => v.files === 2 });
    assert.equal(shown.files, 2, JSON.stringify(shown));
    assert.ok(shown.size <= limit, `cache size ${shown.size} exceeds ${limit}`);
    const listed = await getJson(`${srv.url}/api/repos/tar/lru/cache`);
    assert.deepEqual(listed.body.files.map((f: { path: string }) => f.path).sort(), ['a.bin', 'c.bin'], 'B (least recently used) was evicted, not A');
    // The row goes first, then the blob (when nothing else references it).
    assert.equal(await eventually(async () => !(await stored(srv, sha(files.b!)))), true, "B's blob is deleted after its row");

    // gc (no grace period) after the eviction: every cached file is still there and served from the store.
    const gc = await runGc(srv.services, { graceSeconds: 0 });
    assert.equal(gc.deleted, 0, JSON.stringify(gc));
    for (const n of ['a', 'c']) {
      assert.equal(await stored(srv, sha(files[n]!)), true, `${n}: gc kept the blob a cached row references`);
      const r = await get(url(n));
      assert.deepEqual([r.status, r.cache, r.sha], [200, 'HIT', sha(files[n]!)]);
    }
    assert.deepEqual([asked('a'), asked('b'), asked('c')], [1, 1, 1]);

    // B was evicted: the next request goes to the upstream again (its own log counts it).
    const b = await get(url('b'));
    assert.deepEqual([b.status, b.cache, b.sha], [200, 'MISS', sha(files.b!)]);
    assert.equal(asked('b'), 2);
    const after = await eventually(async () => (await getJson(`${srv.url}/api/repos/tar/lru`)).body.cache, { accept: (v) => v.files === 2 });
    assert.ok(after.size <= limit);
    assert.equal(after.misses, 4);

    // A lowered limit applies at once (PUT), keeping the most recently used file.
    await put(srv, 'tar/lru', { type: 'remote', upstream: `${upstream.url}/`, cacheMaxBytes: 150 * KiB });
    const now = await getJson(`${srv.url}/api/repos/tar/lru/cache`);
    assert.deepEqual(now.body.files.map((f: { path: string }) => f.path), ['b.bin']);
  } finally {
    await upstream.stop();
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('index files are never evicted: a PyPI remote smaller than one wheel keeps its pages, gc keeps their blobs, pip-visible pages survive the upstream stopping', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-idx-'));
  const wheels = ['one', 'two', 'three'].map((n) => makeWheel(fs.mkdtempSync(path.join(dir, `${n}-`)), `${n}-1.0-py3-none-any.whl`, metadataText(n, '1.0'), { extra: [{ name: `${n}/pad.bin`, b64: crypto.randomBytes(64 * KiB).toString('base64'), stored: true }] }));
  writeSimpleTree(path.join(dir, 'tree'), { one: [{ file: wheels[0]! }], two: [{ file: wheels[1]! }], three: [{ file: wheels[2]! }] });
  const upstream = await startStaticUpstream(path.join(dir, 'tree'));
  const srv = await startServer();
  try {
    await put(srv, 'pypi/small', { type: 'remote', upstream: `${upstream.url}/simple/`, cacheMaxBytes: 1 });
    const pages = new Map<string, string>();
    for (const [i, n] of ['one', 'two', 'three'].entries()) {
      const page = await fetch(`${srv.url}/repo/pypi/small/simple/${n}/`);
      pages.set(n, await page.text());
      const whl = await get(`${srv.url}/repo/pypi/small/files/${n}/${n}-1.0-py3-none-any.whl`);
      assert.deepEqual([whl.status, whl.sha], [200, sha(fs.readFileSync(wheels[i]!))]);
    }
    const shown = await eventually(async () => (await getJson(`${srv.url}/api/repos/pypi/small`)).body.cache, { accept: (v) => v.files === 1 });
    assert.equal(shown.files, 1, 'only the newest wheel is kept');
    assert.equal(shown.indexFiles, 6, 'three pages in two serialisations each, none evicted');
    await runGc(srv.services, { graceSeconds: 0 });
    await upstream.stop();
    for (const [n, html] of pages) {
      const r = await fetch(`${srv.url}/repo/pypi/small/simple/${n}/`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('warning'), null, 'fresh, from the cache');
      assert.equal(await r.text(), html);
    }
    const kept = await get(`${srv.url}/repo/pypi/small/files/three/three-1.0-py3-none-any.whl`);
    assert.deepEqual([kept.status, kept.cache, kept.sha], [200, 'HIT', sha(fs.readFileSync(wheels[2]!))]);
    const gone = await getJson(`${srv.url}/repo/pypi/small/files/one/one-1.0-py3-none-any.whl`);
    assert.equal(gone.status, 502, 'evicted and the upstream is down');
  } finally {
    await upstream.stop();
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
