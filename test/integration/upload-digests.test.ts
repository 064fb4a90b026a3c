/**
 * Issue 15: each upload gets sha256 (the blob key) and only the other digests its format's
 * index names (Provider.digests), computed in a worker thread; the values are checked against
 * coreutils' md5sum/sha1sum/sha256sum/sha512sum of the same bytes. /healthz answers while a
 * large upload is still streaming in.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { upload, getJson, auth } from '../helpers/http';
import { FileEntity } from '../../src/db/entities';
import { synthDeb } from './apt-tools';

let srv: TestServer;
let scratch: string;

before(async () => {
  srv = await startServer();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'upload-digests-'));
});
after(async () => {
  await srv.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** What coreutils says about a file's bytes. */
function coreutilsDigests(data: Buffer): { md5: string; sha1: string; sha256: string; sha512: string } {
  const file = path.join(scratch, crypto.randomBytes(6).toString('hex'));
  fs.writeFileSync(file, data);
  const sum = (tool: string) => execFileSync(tool, [file], { encoding: 'utf8' }).split(' ')[0];
  return { md5: sum('md5sum'), sha1: sum('sha1sum'), sha256: sum('sha256sum'), sha512: sum('sha512sum') };
}

async function storedRow(filename: string) {
  const row = await srv.services.db.manager.getRepository(FileEntity).findOneBy({ filename });
  assert.ok(row, `no row for ${filename}`);
  return row;
}

const control = (name: string, version: string) => `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: Test <test@example.org>\nDescription: ${name}\n`;

test('a tar upload (sha256 only) stores the right sha256 and computes nothing else', async () => {
  // Over several 1 MiB batches and not a multiple of one, so batching and the last partial batch both count.
  const data = crypto.randomBytes(3 * (1 << 20) + 12345);
  const r = await upload(srv.url, { name: 'blob.tar.gz', data }, { provider: 'tar', reponame: 'digests', name: 'blob', version: '1' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const want = coreutilsDigests(data);
  assert.equal(r.body.sha256, want.sha256);
  const row = await storedRow('blob.tar.gz');
  assert.deepEqual({ sha256: row.sha256, md5: row.md5, sha1: row.sha1, sha512: row.sha512 }, { sha256: want.sha256, md5: '', sha1: '', sha512: '' });
  const sum = await (await fetch(`${r.body.url}.sha256`)).text();
  assert.equal(sum, `${want.sha256}  blob.tar.gz\n`);
  assert.ok(Buffer.from(await (await fetch(r.body.url as string)).arrayBuffer()).equals(data));
});

for (const named of [true, false]) {
  test(`an apt upload (${named ? 'provider named: hashed while receiving' : 'provider detected: hashed after'}) has md5, sha1, sha256 and sha512 right in the row and the Packages index`, async () => {
    const pkg = named ? 'named-pkg' : 'detected-pkg';
    const deb = synthDeb(control(pkg, '1.0'), 'x'.repeat(2 << 20));
    const r = await upload(srv.url, { name: `${pkg}_1.0_amd64.deb`, data: deb }, { ...(named ? { provider: 'apt' } : {}), reponame: `apt-${pkg}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.provider, 'apt');
    const want = coreutilsDigests(deb);
    const row = await storedRow(`${pkg}_1.0_amd64.deb`);
    assert.deepEqual({ sha256: row.sha256, md5: row.md5, sha1: row.sha1, sha512: row.sha512 }, want);
    const packages = await (await fetch(`${srv.url}/repo/apt/apt-${pkg}/dists/stable/main/binary-amd64/Packages`)).text();
    assert.match(packages, new RegExp(`^MD5sum: ${want.md5}$`, 'm'));
    assert.match(packages, new RegExp(`^SHA1: ${want.sha1}$`, 'm'));
    assert.match(packages, new RegExp(`^SHA256: ${want.sha256}$`, 'm'));
    assert.match(packages, new RegExp(`^SHA512: ${want.sha512}$`, 'm'));
  });
}

test('reindex computes a digest the provider needs that an older row lacks, from the stored blob', async () => {
  const deb = synthDeb(control('old-row', '1.0'));
  const r = await upload(srv.url, { name: 'old-row_1.0_amd64.deb', data: deb }, { provider: 'apt', reponame: 'apt-old' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const want = coreutilsDigests(deb);
  const files = srv.services.db.manager.getRepository(FileEntity);
  const row = await storedRow('old-row_1.0_amd64.deb');
  await files.update({ id: row.id }, { md5: '', sha512: '' });
  const re = await fetch(`${srv.url}/api/repos/apt/apt-old/reindex`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(re.status, 200, await re.text());
  const after = await files.findOneByOrFail({ id: row.id });
  assert.equal(after.md5, want.md5);
  assert.equal(after.sha512, want.sha512);
  const packages = await (await fetch(`${srv.url}/repo/apt/apt-old/dists/stable/main/binary-amd64/Packages`)).text();
  assert.match(packages, new RegExp(`^MD5sum: ${want.md5}$`, 'm'));
  assert.match(packages, new RegExp(`^SHA512: ${want.sha512}$`, 'm'));
});

test('/healthz answers while a large upload is still streaming in, and the upload then completes intact', async () => {
  const boundary = `----digests${crypto.randomBytes(8).toString('hex')}`;
  const chunk = crypto.randomBytes(1 << 20);
  const chunks = 64;
  const whole = crypto.createHash('sha256');
  const u = new URL(`${srv.url}/addpkg?provider=tar&reponame=big&name=big&version=1`);
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': `multipart/form-data; boundary=${boundary}` } });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
  const write = (b: Buffer | string) => new Promise<void>((resolve, reject) => req.write(b, (e) => (e ? reject(e) : resolve())));
  await write(`--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  let answered = 0;
  for (let i = 0; i < chunks; i++) {
    // Each part differs, so the digest covers order as well as content.
    const part = Buffer.concat([Buffer.from(String(i).padStart(8, '0')), chunk.subarray(8)]);
    whole.update(part);
    await write(part);
    if (i % 16 === 8) {
      const h = await getJson(`${srv.url}/healthz`);
      assert.equal(h.status, 200);
      assert.equal(h.body.status, 'ok');
      answered++;
    }
  }
  await write(`\r\n--${boundary}--\r\n`);
  req.end();
  const res = await response;
  assert.equal(answered, 4);
  assert.equal(res.status, 201, res.body);
  const body = JSON.parse(res.body) as { size: number; sha256: string };
  assert.equal(body.size, chunks << 20);
  assert.equal(body.sha256, whole.digest('hex'));
});
