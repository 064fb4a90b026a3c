/**
 * Issue 14, apk: a remote repository of an upstream branch made in this run, laid out like an
 * Alpine mirror (`<root>/alpine/v3.20/main/<arch>/`): packages by the test builder
 * (test/unit/apk/apk-builder.ts), the APKINDEX.tar.gz assembled here from them and signed by
 * the real `openssl dgst -sha256 -sign` with an upstream key (not by the provider's index
 * code), served by python3 -m http.server on 127.0.0.1. Read back through the remote with the
 * independent reader (test/unit/apk/apk-index-reader.ts) and `openssl dgst -verify` with the
 * upstream's public key, as apk would; then again with the upstream stopped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { testDbKind } from '../helpers/test-db';
import { auth, getJson } from '../helpers/http';
import { getHtml, snippets } from './ui-html';
import { startStaticUpstream, type StaticUpstream } from '../helpers/static-upstream';
import { buildApk, END_OF_ARCHIVE, gzip, pkginfoFor, tarFile } from '../unit/apk/apk-builder';
import { opensslVerify, packageChecksum, readIndex } from '../unit/apk/apk-index-reader';

const KEY_NAME = 'upstream-5e1f00aa.rsa.pub';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apk-remote-'));
const branchDir = path.join(dir, 'mirror', 'alpine', 'v3.20', 'main');
let upstream: StaticUpstream;
let srv: TestServer;
let publicPem: string;
/** Package bytes as published upstream, by file name. */
const published = new Map<string, Buffer>();

const base = () => `${srv.url}/repo/apk/alpine`;
const put = (body: unknown) =>
  fetch(`${srv.url}/api/repos/apk/alpine`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
async function download(url: string): Promise<{ status: number; data: Buffer; headers: Headers }> {
  const r = await fetch(url);
  return { status: r.status, data: Buffer.from(await r.arrayBuffer()), headers: r.headers };
}

/**
 * One upstream package and its APKINDEX record (docs/formats/apk.md#apkindex): C: the SHA-1 of
 * the control member, S: the file size, A: the index's arch (abuild indexes noarch packages
 * with `apk index --rewrite-arch`, and Alpine stores them in each arch directory).
 */
function publish(name: string, version: string, arch: string, indexArch: string): string {
  const built = buildApk({ pkginfo: pkginfoFor(name, version, arch, [['depend', 'musl']]) });
  const file = `${name}-${version}.apk`;
  fs.writeFileSync(path.join(branchDir, indexArch, file), built.bytes);
  published.set(file, built.bytes);
  const c = 'Q1' + crypto.createHash('sha1').update(built.control).digest('base64');
  return `C:${c}\nP:${name}\nV:${version}\nA:${indexArch}\nS:${built.bytes.length}\nI:4096\nT:The ${name} test package\nU:https://example.org/${name}\nL:MIT\nD:musl\n\n`;
}

before(async () => {
  fs.mkdirSync(path.join(branchDir, 'x86_64'), { recursive: true });
  const keyFile = path.join(dir, 'upstream.key');
  execFileSync('openssl', ['genrsa', '-out', keyFile, '2048'], { stdio: 'pipe' });
  publicPem = execFileSync('openssl', ['rsa', '-in', keyFile, '-pubout'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const records = publish('hello', '1.0-r0', 'x86_64', 'x86_64') + publish('docs', '2.0-r1', 'noarch', 'x86_64');
  // U: DESCRIPTION and APKINDEX in a normal tar; S: a cut tar holding the signature over U's gzip bytes.
  const unsigned = gzip(Buffer.concat([tarFile('DESCRIPTION', Buffer.from('v3.20-upstream')), tarFile('APKINDEX', Buffer.from(records)), END_OF_ARCHIVE]));
  const unsignedFile = path.join(dir, 'unsigned.gz');
  fs.writeFileSync(unsignedFile, unsigned);
  const signature = execFileSync('openssl', ['dgst', '-sha256', '-sign', keyFile, unsignedFile]);
  fs.writeFileSync(path.join(branchDir, 'x86_64', 'APKINDEX.tar.gz'), Buffer.concat([gzip(tarFile(`.SIGN.RSA256.${KEY_NAME}`, signature)), unsigned]));
  upstream = await startStaticUpstream(path.join(dir, 'mirror'));
  srv = await startServer({ s3: testDbKind() !== 'sqlite' }); // MariaDB and PostgreSQL passes: blobs on s3rver (issue 14: SQLite and MariaDB+S3)
});

after(async () => {
  await upstream?.stop();
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an upstream that is no branch URL is refused, saying so; a branch URL is a remote', async () => {
  const bad = await put({ type: 'remote', upstream: `${upstream.url}/` });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /branch URL/);
  // TTL 0: every index request asks the upstream, so the stale path is taken once it is stopped.
  const ok = await put({ type: 'remote', upstream: `${upstream.url}/alpine/v3.20/main`, metadataTtl: 0 });
  assert.equal(ok.status, 201, await ok.text());
  // The upstream signs the index: our keys are not offered for a remote.
  assert.equal((await fetch(`${base()}/keys/`)).status, 404);
  const page = await getHtml(`${srv.url}/ui/apk/alpine`, auth());
  assert.equal(page.status, 200);
  const code = [...snippets(page.html).values()].join('\n');
  assert.match(code, new RegExp(`echo "${base()}/<branch>" >> /etc/apk/repositories`));
  assert.ok(!code.includes('/keys/'), code);
});

/** Read `<branch>/x86_64/APKINDEX.tar.gz` through the remote as apk would, and every package it names. */
async function checkThroughRemote(branch: string): Promise<Headers> {
  const res = await download(`${base()}/${branch}/x86_64/APKINDEX.tar.gz`);
  assert.equal(res.status, 200, res.data.toString().slice(0, 200));
  assert.equal(res.headers.get('content-type'), 'application/gzip');
  assert.ok(res.data.equals(fs.readFileSync(path.join(branchDir, 'x86_64', 'APKINDEX.tar.gz'))), 'APKINDEX.tar.gz byte for byte');
  const idx = readIndex(res.data);
  assert.equal(idx.signatures.length, 1);
  assert.equal(idx.signatures[0]!.keyName, KEY_NAME);
  const v = opensslVerify(publicPem, idx.signatures[0]!.signature, idx.unsigned);
  assert.ok(v.ok, `openssl with the upstream key: ${v.output}`);
  assert.deepEqual(idx.records.map((r) => r.get('P')).sort(), ['docs', 'hello']);
  for (const rec of idx.records) {
    const file = `${rec.get('P')}-${rec.get('V')}.apk`;
    const pkg = await download(`${base()}/${branch}/${rec.get('A')}/${file}`);
    assert.equal(pkg.status, 200, file);
    assert.ok(pkg.data.equals(published.get(file)!), `${file} byte for byte`);
    assert.equal(Number(rec.get('S')), pkg.data.length);
    assert.equal(rec.get('C'), packageChecksum(pkg.data));
  }
  return res.headers;
}

test('APKINDEX.tar.gz passes through signed by the upstream; packages identical and fetched once; both branch spellings', async () => {
  await checkThroughRemote('main');
  await checkThroughRemote('v3.20/main');
  for (const file of published.keys()) {
    // Cached once per path; `main/...` and `v3.20/main/...` are two paths of one upstream file.
    assert.equal(upstream.requests().filter((p) => p === `/alpine/v3.20/main/x86_64/${file}`).length, 2, file);
  }
  await checkThroughRemote('main');
  for (const file of published.keys()) assert.equal(upstream.requests().filter((p) => p === `/alpine/v3.20/main/x86_64/${file}`).length, 2, `${file}: no more upstream fetches`);
  // A branch that does not name the upstream is not this remote's.
  assert.equal((await fetch(`${base()}/community/x86_64/APKINDEX.tar.gz`)).status, 404);
  const missing = await getJson(`${base()}/main/x86_64/nothere-1.0-r0.apk`);
  assert.equal(missing.status, 404);
  const shown = await getJson(`${srv.url}/api/repos/apk/alpine`);
  assert.equal(shown.body.cache.files, 4);
});

test('with the upstream stopped: the index is served stale and verifies, cached packages are served, others 502', async () => {
  await upstream.stop();
  const headers = await checkThroughRemote('main');
  assert.equal(headers.get('x-cache'), 'STALE');
  assert.match(headers.get('warning') ?? '', /^111 /);
  const down = await getJson(`${base()}/main/x86_64/other-1.0-r0.apk`);
  assert.equal(down.status, 502);
});
