/**
 * Issue 9: the real rpcli as a child process against a real server (tar provider here;
 * cli-repos.test.ts: browsing, settings, progress, gc; cli-formats.test.ts: apt/pacman/pypi/apk). Server state is checked over the HTTP
 * API independently of the CLI's own output.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { getJson, upload, auth } from '../helpers/http';
import { rpcli, oneErrorLine, writeFile, closedPort, createToken as makeToken } from './cli-run';

let srv: TestServer;
let dir: string;
let env: Record<string, string>;
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

const file = (name: string, data: Buffer | string) => writeFile(dir, name, data);

const createToken = (role: string, repoPattern?: string) => makeToken(srv.url, ADMIN_TOKEN, role, repoPattern);

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpcli-test-'));
  env = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: ADMIN_TOKEN };
});
after(async () => {
  await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('help and usage', () => {
  test('--help lists every command; no command is a usage error (exit 2)', async () => {
    const h = await rpcli(['--help']);
    assert.equal(h.code, 0);
    for (const c of ['upload', 'list', 'info', 'download', 'delete', 'yank', 'unyank', 'clean', 'status', 'key', 'token', 'gc']) assert.match(h.stdout, new RegExp(`^  ${c} `, 'm'));
    const none = await rpcli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: rpcli/);
    const cmd = await rpcli(['upload', '--help']);
    assert.equal(cmd.code, 0);
    assert.match(cmd.stdout, /-a key=value/);
  });

  test('unknown command, unknown flag, flag of another command: exit 2, one line', async () => {
    for (const args of [['frobnicate'], ['list', '--bogus'], ['list', '--keep', '3'], ['clean', '-r', 'x', '--keep', 'lots']]) {
      const r = await rpcli(args, { env });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      oneErrorLine(r);
    }
  });

  test('no server configured anywhere: exit 2 saying how to give one', async () => {
    const r = await rpcli(['list']);
    assert.equal(r.code, 2);
    assert.match(oneErrorLine(r), /no server: pass -s/);
  });
});

describe('upload', () => {
  const payload = crypto.randomBytes(200_000);

  test("the seed's flags upload a tarball; it downloads byte-identical", async () => {
    const f = file('cpython-3.8.0b1.tar.gz', payload);
    const r = await rpcli(['-s', srv.url, '-t', ADMIN_TOKEN, 'upload', '-y', 'tar', '-f', f, '-r', 'cpython', '-p', 'cpython', '-i', '3.8.0b1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /published: tar\/cpython cpython 3\.8\.0b1 /);
    const dl = Buffer.from(await (await fetch(`${srv.url}/repo/tar/cpython/cpython/3.8.0b1/cpython-3.8.0b1.tar.gz`)).arrayBuffer());
    assert.ok(dl.equals(payload));
  });

  test('--json prints what the server stored', async () => {
    const data = crypto.randomBytes(1000);
    const f = file('tool-2.0.bin', data);
    const r = await rpcli(['upload', '--json', '-y', 'tar', '-r', 'cpython', '-p', 'tool', '-i', '2.0', f], { env });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { name: string; version: string; sha256: string; size: number; url: string }[];
    assert.equal(out.length, 1);
    assert.equal(out[0].sha256, sha256(data));
    assert.equal(out[0].size, 1000);
    assert.equal(out[0].url, `${srv.url}/repo/tar/cpython/tool/2.0/tool-2.0.bin`);
  });

  test('the same version again: exit 5 with the server message', async () => {
    const f = file('cpython-3.8.0b1.tar.gz', payload);
    const r = await rpcli(['upload', '-y', 'tar', '-r', 'cpython', '-p', 'cpython', '-i', '3.8.0b1', f], { env });
    assert.equal(r.code, 5);
    assert.match(oneErrorLine(r), /already exists in tar\/cpython/);
  });

  test('several files: -f repeated, positional paths and an unexpanded glob', async () => {
    const a = file('multi/a.bin', 'a');
    file('multi/b.bin', 'b');
    file('multi/c.bin', 'c');
    file('multi/skip.txt', 'no');
    const r = await rpcli(['upload', '--json', '-y', 'tar', '-r', 'multi', '-p', 'm', '-i', '1', '-f', a, path.join(dir, 'multi', '[bc].bin')], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { filename: string }[]).map((x) => x.filename), ['a.bin', 'b.bin', 'c.bin']);
    const g = await rpcli(['upload', '-y', 'tar', '-r', 'multi', '-p', 'g', '-i', '1', 'multi/*.txt'], { env, cwd: dir });
    assert.equal(g.code, 0, g.stderr);
    const listed = await getJson(`${srv.url}/api/repos/tar/multi/packages/g`);
    assert.deepEqual(listed.body.versions[0].files.map((x: { filename: string }) => x.filename), ['skip.txt']);
  });

  test('a missing file is one clear line, exit 2, and nothing is uploaded', async () => {
    const ok = file('present.bin', 'x');
    const r = await rpcli(['upload', '-y', 'tar', '-r', 'missing', '-p', 'm', '-i', '1', ok, path.join(dir, 'nope.bin')], { env });
    assert.equal(r.code, 2);
    assert.equal(oneErrorLine(r), `file not found: ${path.join(dir, 'nope.bin')}`);
    assert.equal((await getJson(`${srv.url}/api/repos/tar/missing`, auth())).status, 404);
    const glob = await rpcli(['upload', '-y', 'tar', '-r', 'missing', '-p', 'm', '-i', '1', path.join(dir, '*.nothing')], { env });
    assert.equal(glob.code, 2);
    assert.match(oneErrorLine(glob), /no files match/);
  });

  test("a file of an unknown format: exit 1 with the server's 400 message", async () => {
    const junk = crypto.randomBytes(3000);
    const f = file('mystery.bin', junk);
    const direct = await upload(srv.url, { name: 'mystery.bin', data: junk }, { reponame: 'detect' });
    assert.equal(direct.status, 400);
    const r = await rpcli(['upload', '-r', 'detect', f], { env });
    assert.equal(r.code, 1);
    assert.equal(oneErrorLine(r), direct.body.error);
    assert.match(String(direct.body.error), /could not detect the package format/);
  });

  test('--no-wait returns once stored', async () => {
    const f = file('nw.bin', 'nw');
    const r = await rpcli(['upload', '--json', '--no-wait', '-y', 'tar', '-r', 'cpython', '-p', 'nw', '-i', '1', f], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout)[0].published, false);
  });
});

describe('server, token and config resolution', () => {
  test('unreachable server: one line, exit 6 (for API calls and uploads)', async () => {
    const port = await closedPort();
    const r = await rpcli(['-s', `http://127.0.0.1:${port}`, 'list']);
    assert.equal(r.code, 6);
    assert.match(oneErrorLine(r), new RegExp(`cannot connect to http://127\\.0\\.0\\.1:${port}: connection refused`));
    const u = await rpcli(['-s', `http://127.0.0.1:${port}`, '-t', 'x', 'upload', '-y', 'tar', '-r', 'r', '-p', 'a', '-i', '1', file('u.bin', 'u')]);
    assert.equal(u.code, 6);
    oneErrorLine(u);
  });

  test('a wrong token: exit 4 with the server message', async () => {
    const r = await rpcli(['-t', 'not-a-real-token', 'token', 'list'], { env: { RPCLI_SERVER: srv.url } });
    assert.equal(r.code, 4);
    assert.equal(oneErrorLine(r), 'invalid or revoked token');
  });

  test('profiles: flags > env > profile; --profile and RPCLI_CONFIG; XDG location', async () => {
    const cfg = file('config.json', JSON.stringify({ default: 'good', profiles: { good: { server: srv.url, token: ADMIN_TOKEN }, bad: { server: srv.url, token: 'wrong-token' } } }));
    const base = { RPCLI_CONFIG: cfg };
    assert.equal((await rpcli(['token', 'list'], { env: base })).code, 0);
    assert.equal((await rpcli(['--profile', 'bad', 'token', 'list'], { env: base })).code, 4);
    assert.equal((await rpcli(['--profile', 'bad', 'token', 'list'], { env: { ...base, RPCLI_TOKEN: ADMIN_TOKEN } })).code, 0, 'env beats profile');
    assert.equal((await rpcli(['token', 'list'], { env: { ...base, RPCLI_TOKEN: 'wrong-token' } })).code, 4);
    assert.equal((await rpcli(['-t', ADMIN_TOKEN, 'token', 'list'], { env: { ...base, RPCLI_TOKEN: 'wrong-token' } })).code, 0, 'flag beats env');
    const unreachable = `http://127.0.0.1:${await closedPort()}`;
    assert.equal((await rpcli(['token', 'list'], { env: { ...base, RPCLI_SERVER: unreachable } })).code, 6, 'env server beats profile');
    assert.equal((await rpcli(['-s', srv.url, 'token', 'list'], { env: { ...base, RPCLI_SERVER: unreachable } })).code, 0, 'flag server beats env');
    const none = await rpcli(['--profile', 'nope', 'list'], { env: base });
    assert.equal(none.code, 2);
    assert.match(oneErrorLine(none), /no profile "nope" .*profiles: good, bad/);
    // The default location under XDG_CONFIG_HOME.
    const xdg = fs.mkdtempSync(path.join(dir, 'xdg-'));
    fs.mkdirSync(path.join(xdg, 'rpcli'));
    fs.copyFileSync(cfg, path.join(xdg, 'rpcli', 'config.json'));
    assert.equal((await rpcli(['token', 'list'], { env: { XDG_CONFIG_HOME: xdg } })).code, 0);
    const broken = file('broken.json', '{ not json');
    const b = await rpcli(['list'], { env: { RPCLI_CONFIG: broken } });
    assert.equal(b.code, 2);
    assert.match(oneErrorLine(b), /is not valid JSON/);
  });
});

describe('tokens and scopes', () => {
  test('token create/list/revoke; list never shows a secret', async () => {
    const c = await rpcli(['token', 'create', 'ci-bot', '--role', 'write', '--pattern', 'app-*', '--expires-days', '7'], { env });
    assert.equal(c.code, 0, c.stderr);
    const secret = c.stdout.trim();
    assert.match(secret, /^ad_[\w-]{20,}$/, 'the secret alone on stdout');
    assert.match(c.stderr, /not shown again/);
    const l = await rpcli(['token', 'list', '--json'], { env });
    assert.equal(l.code, 0);
    assert.ok(!l.stdout.includes(secret));
    const tokens = JSON.parse(l.stdout).tokens as { id: number; name: string; role: string; repoPattern: string; expiresAt: string; revoked: boolean }[];
    const mine = tokens.find((t) => t.name === 'ci-bot')!;
    assert.equal(mine.role, 'write');
    assert.equal(mine.repoPattern, 'app-*');
    const days = (Date.parse(mine.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `expires in ${days} days`);
    // The new token works, within its pattern only.
    const f = file('scoped.bin', 's');
    assert.equal((await rpcli(['-t', secret, 'upload', '-y', 'tar', '-r', 'app-one', '-p', 's', '-i', '1', f], { env: { RPCLI_SERVER: srv.url } })).code, 0);
    const r = await rpcli(['token', 'revoke', String(mine.id), '--json'], { env });
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), { revoked: mine.id });
    const after = await rpcli(['-t', secret, 'upload', '-y', 'tar', '-r', 'app-one', '-p', 's', '-i', '2', f], { env: { RPCLI_SERVER: srv.url } });
    assert.equal(after.code, 4);
    assert.equal(oneErrorLine(after), 'invalid or revoked token');
  });

  test("a read token cannot upload: exit 4 with the server's message", async () => {
    const read = await createToken('read');
    const data = Buffer.from('r');
    const direct = await upload(srv.url, { name: 'r.bin', data }, { provider: 'tar', reponame: 'cpython', name: 'r', version: '1' }, { token: read });
    assert.equal(direct.status, 403);
    const r = await rpcli(['-t', read, 'upload', '-y', 'tar', '-r', 'cpython', '-p', 'r', '-i', '1', file('r.bin', data)], { env: { RPCLI_SERVER: srv.url } });
    assert.equal(r.code, 4);
    assert.equal(oneErrorLine(r), direct.body.error);
    // ... but it can read, and cannot manage tokens.
    assert.equal((await rpcli(['-t', read, 'list'], { env: { RPCLI_SERVER: srv.url } })).code, 0);
    assert.equal((await rpcli(['-t', read, 'token', 'list'], { env: { RPCLI_SERVER: srv.url } })).code, 4);
  });

  test('a write token for "a*" writes to "apple" but not to "b"', async () => {
    const t = await createToken('write', 'a*');
    const f = file('ab.bin', 'ab');
    const e = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: t };
    assert.equal((await rpcli(['upload', '-y', 'tar', '-r', 'apple', '-p', 'x', '-i', '1', f], { env: e })).code, 0);
    const b = await rpcli(['upload', '-y', 'tar', '-r', 'b', '-p', 'x', '-i', '1', f], { env: e });
    assert.equal(b.code, 4);
    assert.equal(oneErrorLine(b), `token "${(await getJson(`${srv.url}/api/tokens`, auth())).body.tokens.at(-1).name}" is limited to repositories matching "a*"`);
    assert.equal((await getJson(`${srv.url}/api/repos/tar/b`, auth())).status, 404, 'nothing was created');
    // Admin operations need an admin token.
    assert.equal((await rpcli(['clean', '-r', 'apple', '-y', 'tar', '--keep', '1'], { env: e })).code, 4);
  });
});
