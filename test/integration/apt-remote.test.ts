/**
 * Issue 14, apt: a remote repository of a real signed archive made by reprepro, served by
 * python3 -m http.server on 127.0.0.1. The real apt-get updates and downloads through the
 * remote holding only the upstream's key (InRelease passed through byte for byte, indexes
 * verified by the hashes it names), then again with the upstream stopped.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { testDbKind } from '../helpers/test-db';
import { getJson } from '../helpers/http';
import { startStaticUpstream, type StaticUpstream } from '../helpers/static-upstream';
import { aptClient, bytes, synthDeb, WARN_OR_ERROR } from './apt-tools';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apt-remote-'));
const base = path.join(dir, 'archive');
let upstream: StaticUpstream;
let srv: TestServer;
let keyring: Buffer;
const deb = synthDeb('Package: hello-remote\nVersion: 1.2-1\nSection: utils\nPriority: optional\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: fetched through a remote\n', 'remote hello\n');

before(async () => {
  const gnupg = path.join(dir, 'gnupg');
  fs.mkdirSync(gnupg, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gnupg };
  execFileSync('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', 'Upstream <up@example.org>', 'ed25519', 'sign', 'never'], { env, stdio: 'pipe' });
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(execFileSync('gpg', ['--with-colons', '--list-secret-keys'], { env, encoding: 'utf8' }))![1];
  keyring = execFileSync('gpg', ['--export', fpr!], { env });
  fs.mkdirSync(path.join(base, 'conf'), { recursive: true });
  fs.writeFileSync(path.join(base, 'conf/distributions'), `Origin: up\nLabel: up\nCodename: stable\nArchitectures: amd64\nComponents: main\nDescription: upstream\nSignWith: ${fpr}\nDebIndices: Packages Release . .gz .xz\n`);
  const debFile = path.join(dir, 'hello-remote_1.2-1_amd64.deb');
  fs.writeFileSync(debFile, deb);
  execFileSync('reprepro', ['-b', base, '--silent', 'includedeb', 'stable', debFile], { env, stdio: 'pipe' });
  upstream = await startStaticUpstream(base);
  srv = await startServer({ s3: testDbKind() !== 'sqlite' }); // MariaDB and PostgreSQL passes: blobs on s3rver (issue 14: SQLite and MariaDB+S3)
  const res = await fetch(`${srv.url}/api/repos/apt/debian`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'remote', upstream: upstream.url }) });
  assert.equal(res.status, 201, await res.text());
});
after(async () => {
  await upstream?.stop();
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sources = () => `deb [signed-by=KEYRING] ${srv.url}/repo/apt/debian stable main\n`;

test('InRelease, Release and Release.gpg are the upstream\'s bytes (never re-signed)', async () => {
  for (const f of ['InRelease', 'Release', 'Release.gpg']) {
    const got = await bytes(`${srv.url}/repo/apt/debian/dists/stable/${f}`);
    assert.ok(got.equals(fs.readFileSync(path.join(base, 'dists/stable', f))), `${f} byte for byte`);
  }
  // A dists/ file no cached Release names is not served (it could not be verified).
  assert.equal((await fetch(`${srv.url}/repo/apt/debian/dists/stable/main/binary-amd64/Packages.bogus`)).status, 404);
});

test('apt-get update && apt-get download through the remote with only the upstream key, then with the upstream stopped', async () => {
  const apt = aptClient({ keyring, sources: sources() });
  const up = await apt.update();
  assert.equal(up.code, 0, up.out);
  assert.doesNotMatch(up.out, WARN_OR_ERROR);
  assert.equal(await apt.candidate('hello-remote'), '1.2-1');
  const dl = await apt.run('apt-get', ['download', 'hello-remote'], apt.dlDir);
  assert.equal(dl.code, 0, dl.out);
  assert.ok(fs.readFileSync(path.join(apt.dlDir, 'hello-remote_1.2-1_amd64.deb')).equals(deb));
  const cache = await getJson(`${srv.url}/api/repos/apt/debian/cache?limit=1000`);
  assert.ok(cache.body.files.some((f: any) => f.path === 'pool/main/h/hello-remote/hello-remote_1.2-1_amd64.deb'), JSON.stringify(cache.body));
  const fetchedBefore = upstream.requests().length;

  await upstream.stop();
  const again = aptClient({ keyring, sources: sources() });
  const up2 = await again.update();
  assert.equal(up2.code, 0, up2.out);
  assert.doesNotMatch(up2.out, WARN_OR_ERROR);
  const dl2 = await again.run('apt-get', ['download', 'hello-remote'], again.dlDir);
  assert.equal(dl2.code, 0, dl2.out);
  assert.ok(fs.readFileSync(path.join(again.dlDir, 'hello-remote_1.2-1_amd64.deb')).equals(deb));
  assert.equal(upstream.requests().length, fetchedBefore);
  const sha = crypto.createHash('sha256').update(deb).digest('hex');
  assert.ok(cache.body.files.some((f: any) => f.sha256 === sha));
});
