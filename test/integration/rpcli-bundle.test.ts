/**
 * The built artifacts (scripts/build.mjs): rpcli fetched from the server (GET /rpcli, and the
 * GET /rpcli/install.sh installer) runs from a directory with no node_modules and uploads and
 * downloads against a running server; `npm start`'s compiled server (dist/server.js) boots.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { upload } from '../helpers/http';
import { buildDeb, controlText } from '../unit/apt/helpers';

const run = promisify(execFile);
let srv: TestServer;
let T: string;

before(async () => {
  // Build from the sources under test (also what `npm ci` runs as prepare).
  await run(process.execPath, ['scripts/build.mjs'], { cwd: path.join(__dirname, '../..') });
  T = fs.mkdtempSync(path.join(os.tmpdir(), 'rpcli-bundle-'));
  srv = await startServer();
});

after(async () => {
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

/** Runs a command with an environment that has no artifactd checkout or node_modules in sight. */
async function sh(cmd: string, args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, env: { PATH: process.env.PATH!, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('GET /rpcli is one file that uploads and downloads with no node_modules', async () => {
  const dir = path.join(T, 'plain');
  fs.mkdirSync(dir);
  const res = await fetch(`${srv.url}/rpcli`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /javascript/);
  fs.writeFileSync(path.join(dir, 'rpcli'), Buffer.from(await res.arrayBuffer()), { mode: 0o755 });
  const env = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: ADMIN_TOKEN, HOME: dir };
  const version = await sh(process.execPath, ['rpcli', '--version'], env, dir);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^rpcli \d+\.\d+\.\d+\n$/);

  const payload = crypto.randomBytes(5000);
  fs.writeFileSync(path.join(dir, 'tool-1.0.tgz'), payload);
  const up = await sh(process.execPath, ['rpcli', 'upload', '-y', 'tar', '-r', 'fetched', '-p', 'tool', '-i', '1.0', '-f', 'tool-1.0.tgz'], env, dir);
  assert.equal(up.code, 0, up.stderr);
  const down = await sh(process.execPath, ['rpcli', 'download', '-r', 'fetched', '-p', 'tool', '-i', '1.0', '-o', 'back.tgz'], env, dir);
  assert.equal(down.code, 0, down.stderr);
  assert.ok(fs.readFileSync(path.join(dir, 'back.tgz')).equals(payload));
  assert.ok(!fs.existsSync(path.join(dir, 'node_modules')));
});

test('install.sh installs rpcli to ~/.local/bin with this server as the default profile', async () => {
  const home = path.join(T, 'home');
  fs.mkdirSync(home);
  const script = await (await fetch(`${srv.url}/rpcli/install.sh`)).text();
  assert.match(script, /^#!\/bin\/sh\n/);
  fs.writeFileSync(path.join(T, 'install.sh'), script);
  // PATH has node and curl; HOME is empty.
  const inst = await sh('sh', [path.join(T, 'install.sh')], { HOME: home }, home);
  assert.equal(inst.code, 0, inst.stderr + inst.stdout);
  assert.match(inst.stdout, /installed .*\.local\/bin\/rpcli \(rpcli \d/);
  const bin = path.join(home, '.local/bin/rpcli');
  assert.equal(fs.statSync(bin).mode & 0o777, 0o755);
  const conf = JSON.parse(fs.readFileSync(path.join(home, '.config/rpcli/config.json'), 'utf8')) as { default: string; profiles: Record<string, { server: string }> };
  assert.equal(conf.profiles[conf.default]!.server, srv.url);
  // The profile is used without --server; the token comes from the environment.
  const list = await sh(bin, ['list', '--json'], { HOME: home, RPCLI_TOKEN: ADMIN_TOKEN }, home);
  assert.equal(list.code, 0, list.stderr);
  assert.ok(Array.isArray((JSON.parse(list.stdout) as { repos: unknown[] }).repos));
  // Run again: the existing config is kept.
  fs.writeFileSync(path.join(home, '.config/rpcli/config.json'), '{"profiles": {}}');
  const again = await sh('sh', [path.join(T, 'install.sh')], { HOME: home }, home);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(fs.readFileSync(path.join(home, '.config/rpcli/config.json'), 'utf8'), '{"profiles": {}}');
});

test('npm pack of the CLI package installs with npm i -g and runs', { timeout: 120_000 }, async () => {
  const root = path.join(__dirname, '../..');
  const out = path.join(T, 'pack');
  fs.mkdirSync(out);
  await run('npm', ['pack', './dist/rpcli-package', '--pack-destination', out], { cwd: root });
  const tarball = fs.readdirSync(out).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack wrote a tarball');
  const prefix = path.join(T, 'global');
  await run('npm', ['i', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', `./${tarball}`], { cwd: out });
  const version = await sh(path.join(prefix, 'bin/rpcli'), ['--version'], { HOME: T }, T);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout, `rpcli ${(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  const list = await sh(path.join(prefix, 'bin/rpcli'), ['list', '--json', '-s', srv.url], { HOME: T, RPCLI_TOKEN: ADMIN_TOKEN }, T);
  assert.equal(list.code, 0, list.stderr);
});

test('the compiled server (dist/server.js, what npm start runs) serves /healthz with its version', { timeout: 60_000 }, async () => {
  const data = fs.mkdtempSync(path.join(T, 'data-'));
  const child = spawn(process.execPath, ['dist/server.js'], { cwd: path.join(__dirname, '../..'), env: { ...process.env, DATA_DIR: data, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c;
        const m = /"msg":"listening","port":(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`dist/server.js exited ${code}: ${out}`)));
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { status: string; version: string };
    assert.equal(body.status, 'ok');
    assert.equal(body.version, (JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version);
    // zstd decodes in a worker loaded from beside the bundle (dist/zstd-worker.js).
    const deb = buildDeb(T, controlText({ Package: 'zstd-compiled', Version: '1.0', Architecture: 'amd64', Maintainer: 'T <t@example.org>', Description: 'zstd' }), 'zstd');
    const token = fs.readFileSync(path.join(data, 'admin-token'), 'utf8').trim();
    const up = await upload(`http://127.0.0.1:${port}`, deb, { provider: 'apt', reponame: 'compiled' }, { token });
    assert.equal(up.status, 201, JSON.stringify(up.body));
  } finally {
    child.kill('SIGKILL');
  }
});
