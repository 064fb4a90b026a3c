/**
 * Issue 9, continued: list/info/download/yank/clean/status/delete, repository settings
 * (private, keep), progress bars on a pseudo-terminal only, and gc; the real rpcli against a
 * real server, with server state checked over HTTP independently of the CLI's output.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { getJson, upload } from '../helpers/http';
import { rpcli, rpcliOnPty, oneErrorLine, writeFile, createToken as makeToken } from './cli-run';

let srv: TestServer;
let dir: string;
let env: Record<string, string>;
const PACKAGE_VERSION = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')).version as string;
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const file = (name: string, data: Buffer | string) => writeFile(dir, name, data);
const createToken = (role: string, repoPattern?: string) => makeToken(srv.url, ADMIN_TOKEN, role, repoPattern);

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpcli-repos-'));
  env = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: ADMIN_TOKEN };
  const r = await upload(srv.url, { name: 'seed.bin', data: Buffer.from('seed') }, { provider: 'tar', reponame: 'cpython', name: 'seed', version: '1' });
  assert.equal(r.status, 201);
});
after(async () => {
  await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('browse and change packages', () => {
  before(async () => {
    for (const v of ['1.2.3', '1.10.0', '1.9.0']) {
      const r = await upload(srv.url, { name: `app-${v}.tgz`, data: Buffer.from(`app ${v}`) }, { provider: 'tar', reponame: 'shop', name: 'app', version: v });
      assert.equal(r.status, 201);
    }
    await upload(srv.url, { name: 'lib.tgz', data: Buffer.from('lib') }, { provider: 'tar', reponame: 'shop', name: 'lib', version: '0.1' });
  });

  test('list: repositories, then the packages of one (provider found from the name)', async () => {
    const repos = await rpcli(['list', '--json'], { env });
    assert.equal(repos.code, 0);
    const names = (JSON.parse(repos.stdout).repos as { provider: string; name: string }[]).map((r) => `${r.provider}/${r.name}`);
    assert.ok(names.includes('tar/shop') && names.includes('tar/cpython'), names.join(' '));
    const pk = await rpcli(['list', 'shop', '--json'], { env });
    assert.equal(pk.code, 0, pk.stderr);
    const pkgs = JSON.parse(pk.stdout).packages as { name: string; latestVersion: string; versions: number }[];
    assert.deepEqual(pkgs.map((p) => [p.name, p.latestVersion, p.versions]), [['app', '1.10.0', 3], ['lib', '0.1', 1]]);
    const human = await rpcli(['list', '-r', 'shop', '-y', 'tar'], { env });
    assert.match(human.stdout, /^app\s+1\.10\.0\s+3\s/m);
  });

  test('unknown repository: exit 3', async () => {
    const a = await rpcli(['list', 'no-such-repo'], { env });
    assert.equal(a.code, 3);
    assert.match(oneErrorLine(a), /no repository named "no-such-repo"/);
    const b = await rpcli(['status', '-r', 'no-such-repo', '-y', 'tar'], { env });
    assert.equal(b.code, 3);
    assert.equal(oneErrorLine(b), 'no tar repository named "no-such-repo"');
    const c = await rpcli(['info', 'nothing', '-r', 'shop'], { env });
    assert.equal(c.code, 3);
  });

  test('info shows every version, newest first, with checksums', async () => {
    const r = await rpcli(['info', 'app', '-r', 'shop', '--json'], { env });
    assert.equal(r.code, 0);
    const info = JSON.parse(r.stdout);
    assert.deepEqual(info.versions.map((v: { version: string }) => v.version), ['1.10.0', '1.9.0', '1.2.3']);
    assert.equal(info.versions[0].files[0].sha256, sha256(Buffer.from('app 1.10.0')));
    const human = await rpcli(['info', 'app', '-r', 'shop'], { env });
    assert.match(human.stdout, /app in tar\/shop, latest 1\.10\.0/);
    assert.ok(human.stdout.includes(sha256(Buffer.from('app 1.2.3'))));
  });

  test('download: newest by default, a given version, into a directory; piped = no progress', async () => {
    const out = path.join(dir, 'dl.tgz');
    const r = await rpcli(['download', 'app', '-r', 'shop', '-o', out], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no progress output when stderr is not a terminal');
    assert.equal(fs.readFileSync(out, 'utf8'), 'app 1.10.0');
    const ddir = fs.mkdtempSync(path.join(dir, 'dl-'));
    const v = await rpcli(['download', 'app', '1.2.3', '-r', 'shop', '-o', ddir, '--json'], { env });
    assert.equal(v.code, 0, v.stderr);
    const res = JSON.parse(v.stdout);
    assert.equal(res[0].path, path.join(ddir, 'app-1.2.3.tgz'));
    assert.equal(fs.readFileSync(res[0].path, 'utf8'), 'app 1.2.3');
    assert.deepEqual(fs.readdirSync(ddir), ['app-1.2.3.tgz'], 'no .part file left');
    const nv = await rpcli(['download', 'app', '9.9', '-r', 'shop', '-o', ddir], { env });
    assert.equal(nv.code, 3);
    assert.match(oneErrorLine(nv), /has no version 9\.9/);
  });

  test('yank hides a version from the newest-version choice; unyank restores it', async () => {
    const y = await rpcli(['yank', 'app', '1.10.0', '-r', 'shop', '--reason', 'broken build'], { env });
    assert.equal(y.code, 0, y.stderr);
    const info = (await getJson(`${srv.url}/api/repos/tar/shop/packages/app`)).body;
    assert.equal(info.versions[0].files[0].yanked, 'broken build');
    // Still downloadable by URL.
    assert.equal((await fetch(`${srv.url}/repo/tar/shop/app/1.10.0/app-1.10.0.tgz`)).status, 200);
    const out = path.join(dir, 'after-yank.tgz');
    assert.equal((await rpcli(['download', 'app', '-r', 'shop', '-o', out], { env })).code, 0);
    assert.equal(fs.readFileSync(out, 'utf8'), 'app 1.9.0');
    assert.equal((await rpcli(['unyank', 'app', '1.10.0', '-r', 'shop'], { env })).code, 0);
    assert.equal((await getJson(`${srv.url}/api/repos/tar/shop/packages/app`)).body.versions[0].files[0].yanked, null);
  });

  test('clean --dry-run deletes nothing; clean keeps the newest N by version order', async () => {
    const dry = await rpcli(['clean', '-r', 'shop', '--keep', '1', '--dry-run', '--json'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout);
    assert.equal(plan.dryRun, true);
    assert.deepEqual(plan.removed.map((f: { version: string }) => f.version).sort(), ['1.2.3', '1.9.0']);
    assert.equal((await getJson(`${srv.url}/api/repos/tar/shop/packages/app`)).body.versions.length, 3);
    const real = await rpcli(['clean', '-r', 'shop', '--keep', '2'], { env });
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /deleted app 1\.2\.3/);
    const left = (await getJson(`${srv.url}/api/repos/tar/shop/packages/app`)).body.versions.map((v: { version: string }) => v.version);
    assert.deepEqual(left, ['1.10.0', '1.9.0']);
    assert.equal((await getJson(`${srv.url}/api/repos/tar/shop/packages/lib`)).status, 200, 'other packages keep their only version');
    const noKeep = await rpcli(['clean', '-r', 'shop'], { env });
    assert.equal(noKeep.code, 1);
    assert.match(oneErrorLine(noKeep), /clean needs \{"keep": N\}/);
  });

  test('reindex renders every entry again and reports it; a write token is refused', async () => {
    const files = (await getJson(`${srv.url}/api/repos/tar/shop/status`)).body.files as number;
    const r = await rpcli(['reindex', '-r', 'shop', '-y', 'tar', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { provider: 'tar', repo: 'shop', rendered: files, changed: 0, skipped: 0, republished: [] });
    const human = await rpcli(['reindex', '-r', 'shop'], { env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`^rendered ${files} entries \\(0 changed, 0 skipped\\); republished 0 index scope\\(s\\)$`, 'm'));
    const writer = await makeToken(srv.url, ADMIN_TOKEN, 'write');
    const denied = await rpcli(['reindex', '-r', 'shop'], { env: { ...env, RPCLI_TOKEN: writer } });
    assert.notEqual(denied.code, 0);
    assert.match(oneErrorLine(denied), /admin/);
  });

  test('status counts packages, files and bytes', async () => {
    const r = await rpcli(['status', 'shop', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.packages, 2);
    assert.equal(s.files, 3);
    assert.equal(s.totalSize, 'app 1.10.0'.length + 'app 1.9.0'.length + 'lib'.length);
    assert.deepEqual(s.perArch, {});
    assert.equal(s.server.version, PACKAGE_VERSION);
    const human = await rpcli(['status', '-r', 'shop'], { env });
    assert.match(human.stdout, /tar\/shop: 2 package\(s\), 3 version\(s\), 3 file\(s\)/);
  });

  test("status without a repository reports the server's version and health", async () => {
    const r = await rpcli(['status'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `server ${srv.url}: artifactd ${PACKAGE_VERSION}, ${srv.services.db.kind} + ${srv.services.blobs.kind} blob store, ok`);
    const j = JSON.parse((await rpcli(['status', '--json'], { env })).stdout);
    assert.deepEqual([j.status, j.version], ['ok', PACKAGE_VERSION]);
  });

  test('delete one version, then every version', async () => {
    const one = await rpcli(['delete', 'app', '1.9.0', '-r', 'shop', '--json'], { env });
    assert.equal(one.code, 0, one.stderr);
    assert.equal(JSON.parse(one.stdout).deleted, 1);
    assert.equal((await fetch(`${srv.url}/repo/tar/shop/app/1.9.0/app-1.9.0.tgz`)).status, 404);
    assert.equal((await rpcli(['delete', 'app', '-r', 'shop'], { env })).code, 0);
    assert.equal((await getJson(`${srv.url}/api/repos/tar/shop/packages/app`)).status, 404);
    const again = await rpcli(['delete', 'app', '-r', 'shop'], { env });
    assert.equal(again.code, 3);
  });
});

describe('repository settings', () => {
  test('private=true: anonymous reads get 401; a read token reads through the CLI', async () => {
    const f = file('secret.bin', 'classified');
    assert.equal((await rpcli(['upload', '-y', 'tar', '-r', 'vault', '-p', 'secret', '-i', '1', f], { env })).code, 0);
    const s = await rpcli(['settings', '-r', 'vault', 'private=true', '--json'], { env });
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(JSON.parse(s.stdout).settings, { private: true });
    assert.equal((await fetch(`${srv.url}/repo/tar/vault/secret/1/secret.bin`)).status, 401);
    const anon = await rpcli(['download', 'secret', '-r', 'vault', '-y', 'tar', '-o', path.join(dir, 'x')], { env: { RPCLI_SERVER: srv.url } });
    assert.equal(anon.code, 4);
    const read = await createToken('read', 'vault');
    const out = path.join(dir, 'secret-out.bin');
    const ok = await rpcli(['download', 'secret', '-r', 'vault', '-y', 'tar', '-o', out], { env: { RPCLI_SERVER: srv.url, RPCLI_TOKEN: read } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(fs.readFileSync(out, 'utf8'), 'classified');
  });

  test('keep=N applies retention after each upload', async () => {
    assert.equal((await rpcli(['upload', '-y', 'tar', '-r', 'rolling', '-p', 'r', '-i', '1', file('r1.bin', '1')], { env })).code, 0);
    assert.equal((await rpcli(['settings', '-r', 'rolling', 'keep=2'], { env })).code, 0);
    for (const v of ['2', '3', '4']) assert.equal((await rpcli(['upload', '-y', 'tar', '-r', 'rolling', '-p', 'r', '-i', v, file(`r${v}.bin`, v)], { env })).code, 0);
    const versions = (await getJson(`${srv.url}/api/repos/tar/rolling/packages/r`)).body.versions.map((v: { version: string }) => v.version);
    assert.deepEqual(versions, ['4', '3']);
    const shown = await rpcli(['settings', '-r', 'rolling'], { env });
    assert.match(shown.stdout, /^keep = 2$/m);
    // null removes a setting.
    assert.deepEqual(JSON.parse((await rpcli(['settings', '-r', 'rolling', 'keep=null', '--json'], { env })).stdout).settings, {});
  });

  test('invalid settings: 400 with the reasons', async () => {
    const r = await rpcli(['settings', '-r', 'rolling', 'keep=0', 'colour=blue'], { env });
    assert.equal(r.code, 1);
    const msg = oneErrorLine(r);
    assert.match(msg, /^invalid settings: /);
    assert.match(msg, /keep: /);
    assert.match(msg, /colour/);
  });
});

describe('progress output', () => {
  const big = crypto.randomBytes(3 * 1024 * 1024);

  test('upload and download draw a progress bar on a pseudo-terminal', async () => {
    const f = file('big.bin', big);
    const up = await rpcliOnPty(['upload', '-y', 'tar', '-r', 'progress', '-p', 'big', '-i', '1', f], { env });
    assert.equal(up.code, 0, up.stdout);
    assert.match(up.stdout, /big\.bin +\[#+\] 100% 3\.00 MiB\/3\.00 MiB .*\/s ETA 00:00/);
    const out = path.join(dir, 'big-out.bin');
    const down = await rpcliOnPty(['download', 'big', '-r', 'progress', '-o', out], { env });
    assert.equal(down.code, 0, down.stdout);
    assert.match(down.stdout, /big-out\.bin +\[#+\] 100% 3\.00 MiB\/3\.00 MiB .*\/s ETA 00:00/);
    assert.ok(fs.readFileSync(out).equals(big));
  });

  test('nothing but the result when piped, and nothing with --no-progress on a terminal', async () => {
    const f = file('big2.bin', big);
    const piped = await rpcli(['upload', '-y', 'tar', '-r', 'progress', '-p', 'big', '-i', '2', f], { env });
    assert.equal(piped.code, 0);
    assert.equal(piped.stderr, '');
    assert.doesNotMatch(piped.stdout, /%|ETA/);
    const quiet = await rpcliOnPty(['upload', '--no-progress', '-y', 'tar', '-r', 'progress', '-p', 'big', '-i', '3', f], { env });
    assert.equal(quiet.code, 0);
    assert.doesNotMatch(quiet.stdout, /%|ETA/);
  });
});

describe('gc', () => {
  test('gc --dry-run reports and deletes nothing; gc runs', async () => {
    const d = await rpcli(['gc', '--dry-run', '--json'], { env });
    assert.equal(d.code, 0, d.stderr);
    const res = JSON.parse(d.stdout);
    assert.equal(res.dryRun, true);
    assert.ok(res.scanned > 0);
    const r = await rpcli(['gc'], { env });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /deleted \d+ blob\(s\)/);
    const read = await createToken('read');
    assert.equal((await rpcli(['-t', read, 'gc'], { env: { RPCLI_SERVER: srv.url } })).code, 4);
  });
});
