import { providerRoutes, testRouteContext } from '../../helpers/provider';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { aptProvider } from '../../../providers/apt';
import { sourcesFile } from '../../../providers/apt/setup';
import { DomainError } from '../../../src/core/errors';
import type { RepoInfo } from '../../../src/core/provider';
import { makeSigner, tmpDir, type TestKey } from './helpers';

const repo: RepoInfo = { id: 1, provider: 'apt', name: 'acme', settings: {} };
const partitions = ['stable/main', 'stable/contrib', 'bookworm/main'];
let key: TestKey;
let server: Server;
let base: string;

before(async () => {
  key = await makeSigner();
  const app = express();
  // What the core's repo router gives provider routes (src/http/repo-router.ts).
  app.use('/repo/apt/:repo', providerRoutes(aptProvider, (name) => (name === 'acme' ? testRouteContext({ repo, signer: key.signer, base, partitions }) : null)));
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof DomainError ? err.status : 500;
    res.status(status).json({ error: err.message, code: err instanceof DomainError ? err.code : 'internal' });
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

test('GET pubkey and keyring.gpg serve the armored key and raw OpenPGP packets', async () => {
  const armored = await fetch(`${base}/repo/apt/acme/pubkey`);
  assert.equal(armored.status, 200);
  assert.equal(await armored.text(), key.armored);
  const bin = await fetch(`${base}/repo/apt/acme/keyring.gpg`);
  const data = Buffer.from(await bin.arrayBuffer());
  assert.ok(data.equals(key.binary));
  assert.ok([0x98, 0x99, 0xc6].includes(data[0]), 'apt accepts the first packet byte');
});

test('unknown repository: 404 JSON not_found', async () => {
  for (const p of ['pubkey', 'keyring.gpg', 'dists/stable/install']) {
    const r = await fetch(`${base}/repo/apt/nope/${p}`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { code: string }).code, 'not_found');
  }
  const bad = await fetch(`${base}/repo/apt/acme/dists/a%2Fb/install`);
  assert.equal(bad.status, 404);
});

test('the install script installs the key and a deb822 .sources, then runs apt-get update', async () => {
  const r = await fetch(`${base}/repo/apt/acme/dists/stable/install`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/x-shellscript/);
  const script = await r.text();
  execFileSync('sh', ['-n'], { input: script }); // syntax
  // Run it for real, with /etc/apt redirected to a temp dir and apt-get stubbed.
  const t = tmpDir('apt-install-');
  fs.mkdirSync(path.join(t, 'bin'));
  fs.mkdirSync(path.join(t, 'etc/apt/sources.list.d'), { recursive: true });
  fs.writeFileSync(path.join(t, 'bin/apt-get'), `#!/bin/sh\necho "apt-get $*" > ${t}/apt-get.log\n`, { mode: 0o755 });
  const sandboxed = script.replaceAll('/etc/apt/', `${t}/etc/apt/`);
  // Asynchronously: the script downloads the key from this process's server.
  await new Promise<void>((resolve, reject) => {
    // Own process group, so a timeout kills curl too (its inherited stderr would keep 'close' from firing).
    const child = spawn('sh', ['-s'], { env: { ...process.env, PATH: `${t}/bin:${process.env.PATH}` }, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`install script exited ${code}: ${err}`));
    });
    child.stdin.end(sandboxed);
  });
  assert.ok(fs.readFileSync(path.join(t, 'etc/apt/keyrings/acme.gpg')).equals(key.binary), 'keyring downloaded');
  const sources = fs.readFileSync(path.join(t, 'etc/apt/sources.list.d/acme.sources'), 'utf8');
  assert.equal(sources.replaceAll(`${t}/etc/apt/`, '/etc/apt/'), sourcesFile('acme', `${base}/repo/apt/acme`, 'stable', ['contrib', 'main']));
  assert.match(sources, /^Signed-By: .*\/etc\/apt\/keyrings\/acme.gpg$/m);
  assert.equal(fs.readFileSync(path.join(t, 'apt-get.log'), 'utf8').trim(), 'apt-get update');
});

test('setup snippets', async () => {
  const snippets = await aptProvider.setup({ repo, repoUrl: 'https://pkgs.example.org/repo/apt/acme', baseUrl: 'https://pkgs.example.org', signer: key.signer, partitions });
  const all = snippets.map((s) => s.code).join('\n---\n');
  assert.match(all, /^wget -qO- https:\/\/pkgs.example.org\/repo\/apt\/acme\/dists\/stable\/install \| sudo bash$/m);
  assert.match(all, /curl -fsSL https:\/\/pkgs.example.org\/repo\/apt\/acme\/keyring.gpg -o \/etc\/apt\/keyrings\/acme.gpg/);
  assert.match(all, /^Types: deb\nURIs: https:\/\/pkgs.example.org\/repo\/apt\/acme\nSuites: stable\nComponents: contrib main\nSigned-By: \/etc\/apt\/keyrings\/acme.gpg$/m);
  assert.match(all, /^deb \[signed-by=\/etc\/apt\/keyrings\/acme.gpg\] https:\/\/pkgs.example.org\/repo\/apt\/acme stable contrib main$/m);
  const empty = await aptProvider.setup({ repo, repoUrl: 'https://x/repo/apt/acme', baseUrl: 'https://x', signer: key.signer, partitions: [] });
  assert.match(empty.map((s) => s.code).join('\n'), /Suites: stable\nComponents: main/);
});
