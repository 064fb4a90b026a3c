/** Issue 2: upload API, auth, bad input, downloads, listings, delete, parallel uploads (tar provider). */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { upload, getJson, auth } from '../helpers/http';

let srv: TestServer;
const payload = crypto.randomBytes(300_000);

async function blobCount(dir: string): Promise<number> {
  const root = path.join(dir, 'blobs');
  if (!fs.existsSync(root)) return 0;
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile()).length;
}

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

describe('upload and download', () => {
  test('healthz reports database and blob store', async () => {
    const r = await getJson(`${srv.url}/healthz`);
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.checks.database, 'ok');
    assert.equal(r.body.checks.blobStore, 'ok');
  });

  test("the seed's tarball call works and the file downloads byte-identical", async () => {
    const r = await upload(srv.url, { name: 'cpython-3.8.0b1.tar.gz', data: payload }, { provider: 'tar', reponame: 'cpython', name: 'cpython', version: '3.8.0b1' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.provider, 'tar');
    assert.equal(r.body.repo, 'cpython');
    assert.equal(r.body.name, 'cpython');
    assert.equal(r.body.version, '3.8.0b1');
    assert.equal(r.body.size, payload.length);
    assert.equal(r.body.sha256, crypto.createHash('sha256').update(payload).digest('hex'));
    assert.equal(r.body.url, `${srv.url}/repo/tar/cpython/cpython/3.8.0b1/cpython-3.8.0b1.tar.gz`);
    const dl = await fetch(r.body.url as string);
    assert.equal(dl.status, 200);
    assert.equal(dl.headers.get('content-length'), String(payload.length));
    assert.equal(dl.headers.get('content-type'), 'application/gzip');
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(payload));
    const sum = await (await fetch(`${r.body.url}.sha256`)).text();
    assert.equal(sum, `${r.body.sha256}  cpython-3.8.0b1.tar.gz\n`);
  });

  test('the same name+version again is 409 and changes nothing', async () => {
    const r = await upload(srv.url, { name: 'cpython-3.8.0b1.tar.gz', data: crypto.randomBytes(10) }, { provider: 'tar', reponame: 'cpython', name: 'cpython', version: '3.8.0b1' });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'version_exists');
    assert.match(String(r.body.error), /already exists/);
    const dl = Buffer.from(await (await fetch(`${srv.url}/repo/tar/cpython/cpython/3.8.0b1/cpython-3.8.0b1.tar.gz`)).arrayBuffer());
    assert.ok(dl.equals(payload));
  });

  test('Range requests give 206 with the right bytes, bad ranges 416', async () => {
    const url = `${srv.url}/repo/tar/cpython/cpython/3.8.0b1/cpython-3.8.0b1.tar.gz`;
    let r = await fetch(url, { headers: { Range: 'bytes=100-199' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), `bytes 100-199/${payload.length}`);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(payload.subarray(100, 200)));
    r = await fetch(url, { headers: { Range: 'bytes=-50' } });
    assert.equal(r.status, 206);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(payload.subarray(payload.length - 50)));
    r = await fetch(url, { headers: { Range: `bytes=${payload.length}-` } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), `bytes */${payload.length}`);
  });

  test('ETag / If-None-Match and If-Modified-Since give 304', async () => {
    const url = `${srv.url}/repo/tar/cpython/cpython/3.8.0b1/cpython-3.8.0b1.tar.gz`;
    const first = await fetch(url, { method: 'HEAD' });
    const etag = first.headers.get('etag')!;
    assert.match(etag, /^"[0-9a-f]{64}"$/);
    assert.equal((await fetch(url, { headers: { 'If-None-Match': etag } })).status, 304);
    assert.equal((await fetch(url, { headers: { 'If-Modified-Since': first.headers.get('last-modified')! } })).status, 304);
    assert.equal((await fetch(url, { headers: { 'If-None-Match': '"other"' } })).status, 200);
  });

  test('percent-encoded paths are decoded (apt sends ~ as %7e)', async () => {
    const r = await upload(srv.url, { name: 'tool_1.0~rc1.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: 'cpython', name: 'tool', version: '1.0~rc1' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const dl = await fetch(`${srv.url}/repo/tar/cpython/tool/1.0%7erc1/tool_1.0%7Erc1.bin`);
    assert.equal(dl.status, 200);
    assert.equal(await dl.text(), 'x');
  });

  test('latest redirects to the newest version', async () => {
    for (const v of ['1.10.0', '1.9.0', '1.2.3']) {
      const r = await upload(srv.url, { name: 'app.tgz', data: Buffer.from(v) }, { provider: 'tar', reponame: 'cpython', name: 'app', version: v });
      assert.equal(r.status, 201);
    }
    const r = await fetch(`${srv.url}/repo/tar/cpython/app/latest/app.tgz`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), `${srv.url}/repo/tar/cpython/app/1.10.0/app.tgz`);
    assert.equal(await (await fetch(`${srv.url}/repo/tar/cpython/app/latest/app.tgz`)).text(), '1.10.0');
  });

  test('?wait=0 answers 202 once stored', async () => {
    const r = await upload(srv.url, { name: 'w.bin', data: Buffer.from('w') }, { provider: 'tar', reponame: 'cpython', name: 'w', version: '1', wait: '0' });
    assert.equal(r.status, 202);
    assert.equal(r.body.published, false);
  });
});

describe('listings', () => {
  test('HTML autoindex by default, JSON with Accept: application/json', async () => {
    const html = await fetch(`${srv.url}/repo/tar/cpython/`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type')!, /text\/html/);
    const text = await html.text();
    assert.match(text, /<a href="cpython\/">cpython\/<\/a>/);
    assert.match(text, /<a href="app\/">app\/<\/a>/);
    const json = await getJson(`${srv.url}/repo/tar/cpython/app/`);
    assert.equal(json.status, 200);
    assert.deepEqual(json.body.entries.map((e: { name: string }) => e.name), ['1.10.0/', '1.2.3/', '1.9.0/']);
    const leaf = await getJson(`${srv.url}/repo/tar/cpython/cpython/3.8.0b1/`);
    assert.deepEqual(leaf.body.entries, [{ name: 'cpython-3.8.0b1.tar.gz', type: 'file', size: payload.length, modified: leaf.body.entries[0].modified }]);
  });

  test('a directory without its slash redirects; unknown paths are JSON 404s', async () => {
    const r = await fetch(`${srv.url}/repo/tar/cpython/app`, { redirect: 'manual' });
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), '/repo/tar/cpython/app/');
    const nf = await getJson(`${srv.url}/repo/tar/cpython/nope/1/x`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.code, 'not_found');
    const nr = await getJson(`${srv.url}/repo/tar/no-such-repo/`, auth());
    assert.equal(nr.status, 404);
  });
});

describe('auth', () => {
  test('no token: 401 with WWW-Authenticate; wrong token: 401', async () => {
    const form = new FormData();
    form.append('f', new Blob([Buffer.from('a')]), 'a.bin');
    const r = await fetch(`${srv.url}/addpkg?provider=tar&reponame=cpython&name=a&version=1`, { method: 'POST', body: form });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate')!, /Basic/);
    assert.equal(((await r.json()) as { code: string }).code, "unauthorized");
    const w = await upload(srv.url, { name: 'a.bin', data: Buffer.from('a') }, { provider: 'tar', reponame: 'cpython', name: 'a', version: '1' }, { token: 'wrong-token' });
    assert.equal(w.status, 401);
  });

  test('basic auth with the token as password works (curl -u, twine)', async () => {
    const form = new FormData();
    form.append('f', new Blob([Buffer.from('b')]), 'b.bin');
    const r = await fetch(`${srv.url}/addpkg?provider=tar&reponame=cpython&name=b&version=1`, {
      method: 'POST',
      body: form,
      headers: { Authorization: `Basic ${Buffer.from(`__token__:${ADMIN_TOKEN}`).toString('base64')}` },
    });
    assert.equal(r.status, 201);
  });

  test('a read token gets 403 on upload; a write token for a* cannot write to b', async () => {
    const read = await srv.services.tokens.create({ name: 'reader', role: 'read' });
    const r = await upload(srv.url, { name: 'c.bin', data: Buffer.from('c') }, { provider: 'tar', reponame: 'cpython', name: 'c', version: '1' }, { token: read.token });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'forbidden');
    const scoped = await srv.services.tokens.create({ name: 'a-writer', role: 'write', repoPattern: 'a*' });
    const ok = await upload(srv.url, { name: 'c.bin', data: Buffer.from('c') }, { provider: 'tar', reponame: 'alpha', name: 'c', version: '1' }, { token: scoped.token });
    assert.equal(ok.status, 201);
    const no = await upload(srv.url, { name: 'c.bin', data: Buffer.from('c') }, { provider: 'tar', reponame: 'beta', name: 'c', version: '1' }, { token: scoped.token });
    assert.equal(no.status, 403);
  });
});

describe('bad input gets a 4xx JSON error and stores nothing', () => {
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ['not multipart', () => fetch(`${srv.url}/addpkg?provider=tar&reponame=bad&name=x&version=1`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/octet-stream' }, body: 'xx' }), 415, /multipart\/form-data/],
    ['malformed multipart', () => fetch(`${srv.url}/addpkg?provider=tar&reponame=bad&name=x&version=1`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'multipart/form-data; boundary=zzz' }, body: '--zzz\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nabc' }), 400, /malformed|closed|Unexpected end/i],
    ['missing boundary', () => fetch(`${srv.url}/addpkg?provider=tar&reponame=bad&name=x&version=1`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'multipart/form-data' }, body: 'abc' }), 400, /multipart/i],
  ];
  for (const [label, send, status, msg] of cases) {
    test(label, async () => {
      const before = await blobCount(srv.dataDir);
      const r = await send();
      assert.equal(r.status, status);
      const body = (await r.json()) as { error: string; code: string };
      assert.match(body.error, msg);
      assert.equal(typeof body.code, 'string');
      assert.equal(await blobCount(srv.dataDir), before);
    });
  }

  const uploads: [string, { name: string; data: Buffer }, Record<string, string>, number, RegExp, Record<string, { name: string; data: Buffer }>?][] = [
    ['missing file field', { name: 'x', data: Buffer.from('x') }, { provider: 'tar', reponame: 'bad', name: 'x', version: '1' }, 400, /unexpected file field|no file/, { other: { name: 'y', data: Buffer.from('y') } }],
    ['empty file', { name: 'e.bin', data: Buffer.alloc(0) }, { provider: 'tar', reponame: 'bad', name: 'e', version: '1' }, 400, /empty/],
    ['unknown provider', { name: 'x.bin', data: Buffer.from('x') }, { provider: 'nuget', reponame: 'bad', name: 'x', version: '1' }, 400, /unknown provider "nuget".*tar/],
    ['undetectable format', { name: 'x.bin', data: Buffer.from('just text') }, { reponame: 'bad' }, 400, /could not detect.*tar/],
    ['tar without name', { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: 'bad', version: '1' }, 400, /name is required/],
    ['tar without version', { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: 'bad', name: 'x' }, 400, /version is required/],
    ['file name with ../', { name: '../../etc/passwd', data: Buffer.from('x') }, { provider: 'tar', reponame: 'bad', name: 'x', version: '1', filename: '../../etc/passwd' }, 400, /path separator|must not start/],
    ['file name with a control character', { name: 'a\u0001b', data: Buffer.from('x') }, { provider: 'tar', reponame: 'bad', name: 'x', version: '1', filename: 'a\u0001b' }, 400, /control character|Malformed/],
    ['300-character file name', { name: 'a'.repeat(300), data: Buffer.from('x') }, { provider: 'tar', reponame: 'bad', name: 'x', version: '1' }, 400, /longer than 255/],
    ['absolute path as name', { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: 'bad', name: '/etc/passwd', version: '1' }, 400, /name/],
    ['.. as version', { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: 'bad', name: 'x', version: '..' }, 400, /version/],
    ['NUL in name', { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: 'bad', name: 'x\u0000y', version: '1' }, 400, /name/],
    ['repo name with a slash', { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: 'a/b', name: 'x', version: '1' }, 400, /reponame/],
    ['repo name ..', { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: '..', name: 'x', version: '1' }, 400, /reponame/],
    ['overlong repo name', { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: 'r'.repeat(65), name: 'x', version: '1' }, 400, /reponame/],
  ];
  for (const [label, file, query, status, msg, extra] of uploads) {
    test(label, async () => {
      const before = await blobCount(srv.dataDir);
      let r;
      if (extra) {
        const form = new FormData();
        for (const [k, v] of Object.entries(extra)) form.append(k, new Blob([v.data]), v.name);
        const res = await fetch(`${srv.url}/addpkg?${new URLSearchParams(query)}`, { method: 'POST', body: form, headers: auth() });
        r = { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } else r = await upload(srv.url, file, query);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.match(String(r.body.error), msg);
      assert.equal(await blobCount(srv.dataDir), before);
      assert.equal((await getJson(`${srv.url}/api/repos/tar/bad`, auth())).status, 404, 'no repository row was left behind');
    });
  }

  test('the server keeps serving after all of that', async () => {
    assert.equal((await getJson(`${srv.url}/healthz`)).status, 200);
  });
});

describe('limits', () => {
  test('past MAX_UPLOAD_SIZE: 413 and nothing kept', async () => {
    const small = await startServer({ env: { MAX_UPLOAD_SIZE: '1000' } });
    try {
      const r = await upload(small.url, { name: 'big.bin', data: crypto.randomBytes(5000) }, { provider: 'tar', reponame: 'lim', name: 'big', version: '1' });
      assert.equal(r.status, 413);
      assert.equal(r.body.code, 'too_large');
      assert.equal(await blobCount(small.dataDir), 0);
      const tmp = path.join(small.dataDir, 'tmp');
      assert.deepEqual(fs.existsSync(tmp) ? fs.readdirSync(tmp) : [], [], 'temp file removed');
      const ok = await upload(small.url, { name: 'ok.bin', data: crypto.randomBytes(500) }, { provider: 'tar', reponame: 'lim', name: 'ok', version: '1' });
      assert.equal(ok.status, 201);
    } finally {
      await small.stop();
    }
  });
});

describe('API and delete', () => {
  test('repos, packages and one package as JSON', async () => {
    const repos = await getJson(`${srv.url}/api/repos`);
    assert.ok(repos.body.repos.some((r: { name: string; provider: string }) => r.name === 'cpython' && r.provider === 'tar'));
    const pkgs = await getJson(`${srv.url}/api/repos/tar/cpython/packages`);
    const app = pkgs.body.packages.find((p: { name: string }) => p.name === 'app');
    assert.equal(app.latestVersion, '1.10.0');
    assert.equal(app.versions, 3);
    const one = await getJson(`${srv.url}/api/repos/tar/cpython/packages/app`);
    assert.deepEqual(one.body.versions.map((v: { version: string }) => v.version), ['1.10.0', '1.9.0', '1.2.3']);
  });

  test('DELETE needs admin, removes the version and its file', async () => {
    const read = await srv.services.tokens.create({ name: 'r2', role: 'write' });
    const denied = await fetch(`${srv.url}/api/repos/tar/cpython/packages/app/1.10.0`, { method: 'DELETE', headers: auth(read.token) });
    assert.equal(denied.status, 403);
    const del = await fetch(`${srv.url}/api/repos/tar/cpython/packages/app/1.10.0`, { method: 'DELETE', headers: auth() });
    assert.equal(del.status, 200);
    assert.deepEqual(await del.json(), { deleted: 1 });
    assert.equal((await fetch(`${srv.url}/repo/tar/cpython/app/1.10.0/app.tgz`)).status, 404);
    const r = await fetch(`${srv.url}/repo/tar/cpython/app/latest/app.tgz`, { redirect: 'manual' });
    assert.equal(r.headers.get('location'), `${srv.url}/repo/tar/cpython/app/1.9.0/app.tgz`);
    const again = await fetch(`${srv.url}/api/repos/tar/cpython/packages/app/1.10.0`, { method: 'DELETE', headers: auth() });
    assert.equal(again.status, 404);
  });
});

describe('parallel uploads', () => {
  test('50 parallel uploads into one repository are all stored and listed', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => upload(srv.url, { name: `p-${i}.bin`, data: Buffer.from(`payload ${i}`) }, { provider: 'tar', reponame: 'par', name: 'p', version: `1.${i}` })),
    );
    assert.deepEqual(results.map((r) => r.status), Array(50).fill(201));
    const listing = await getJson(`${srv.url}/repo/tar/par/p/`);
    assert.equal(listing.body.entries.length, 50);
    for (let i = 0; i < 50; i += 7) {
      assert.equal(await (await fetch(`${srv.url}/repo/tar/par/p/1.${i}/p-${i}.bin`)).text(), `payload ${i}`);
    }
  });
});
