/**
 * The real pacman (Debian's 6.0.2) against our output: packages built by makepkg, parsed and
 * indexed by the provider, served over HTTP from memory on port 0 (resolution as the core does
 * it: index files, package files, fallbackPaths, `.sig` attachments), with
 * `SigLevel = Required DatabaseRequired` and the repository key added and locally signed with
 * pacman-key. Covers -Sy, -Ss, -Si (newest by vercmp), -S, -Fy/-F, `any` from an aarch64
 * client, and -Syu after a newer upload. Needs root (pacman -S); skipped otherwise.
 */
import { parseRendered } from '../../helpers/provider';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { pacmanProvider } from '../../../providers/pacman';
import type { EntryRow } from '../../../src/core/provider';
import { REPO, makeSigner, makepkg, publishContext, rowOf, tmpDir, uploaded, uploadInput, type PkgSpec, type TestSigner } from './helpers';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root for pacman -S' : spawnSync('pacman', ['--version']).status !== 0 ? 'pacman not installed' : false;

let T: string;
let signer: TestSigner;
let server: http.Server;
let port: number;
const served = new Map<string, Buffer>();
const requests: string[] = [];
const rows: EntryRow[] = [];

async function upload(spec: PkgSpec): Promise<void> {
  const file = uploaded(makepkg(spec, T));
  const parsed = await parseRendered(pacmanProvider, uploadInput(file, signer));
  rows.push(rowOf(parsed, file, rows.length + 1));
  served.set(parsed.path, fs.readFileSync(file.localPath));
  for (const a of parsed.attachments) served.set(parsed.path + a.suffix, a.data);
}

async function publish(): Promise<void> {
  const scopes = new Set<string>();
  for (const r of rows) for (const s of await pacmanProvider.scopesFor(r.partition, publishContext('', rows, signer))) scopes.add(s);
  scopes.add('aarch64');
  for (const scope of scopes) for (const f of await pacmanProvider.buildIndex(publishContext(scope, rows, signer))) served.set(f.path, f.data);
}

function resolve(p: string): Buffer | undefined {
  for (const candidate of [p, ...(pacmanProvider.fallbackPaths?.(p) ?? [])]) {
    const hit = served.get(candidate);
    if (hit) return hit;
  }
  return undefined;
}

function client(arch: string, name = arch) {
  const dir = path.join(T, `client-${name}`);
  for (const d of ['db', 'root', 'cache', 'gnupg', 'hooks']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const conf = path.join(dir, 'pacman.conf');
  fs.writeFileSync(conf, [
    '[options]', `Architecture = ${arch}`, 'SigLevel = Required DatabaseRequired',
    `[${REPO.name}]`, `Server = http://127.0.0.1:${port}/$arch`, '',
  ].join('\n'));
  const common = ['--config', conf, '--dbpath', path.join(dir, 'db'), '--root', path.join(dir, 'root'), '--cachedir', path.join(dir, 'cache'),
    '--gpgdir', path.join(dir, 'gnupg'), '--hookdir', path.join(dir, 'hooks'), '--logfile', path.join(dir, 'pacman.log'), '--noconfirm'];
  const key = (...args: string[]) => run('pacman-key', ['--gpgdir', path.join(dir, 'gnupg'), '--config', conf, ...args], { timeout: 120_000 });
  const pacman = async (...args: string[]) => {
    try {
      return (await run('pacman', [...common, ...args], { timeout: 120_000 })).stdout;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`pacman ${args.join(' ')} failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}\nrequests: ${requests.slice(-10).join(' ')}`);
    }
  };
  return { dir, key, pacman };
}

async function trust(c: ReturnType<typeof client>): Promise<void> {
  const keyFile = path.join(c.dir, 'repo.asc');
  fs.writeFileSync(keyFile, signer.pgp.publicKeyArmored);
  await c.key('--init');
  await c.key('--add', keyFile);
  await c.key('--lsign-key', signer.pgp.fingerprint.toUpperCase());
}

before(async () => {
  if (skip) return;
  T = tmpDir('pacman-client-');
  signer = await makeSigner();
  server = http.createServer((req, res) => {
    const p = decodeURIComponent((req.url ?? '/').split('?')[0]!).replace(/^\/+/, '');
    requests.push(p);
    const body = resolve(p);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Length': body.length, 'Content-Type': 'application/octet-stream' }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
  const hello = '  mkdir -p "$pkgdir/usr/bin"; printf "#!/bin/sh\\necho hello\\n" > "$pkgdir/usr/bin/hello-art"; chmod 755 "$pkgdir/usr/bin/hello-art"';
  await upload({ name: 'hello-art', pkgver: '1.10.0', arch: 'x86_64', pkgext: '.pkg.tar.zst', package: hello });
  await upload({ name: 'hello-art', pkgver: '1.2.3', arch: 'x86_64', pkgext: '.pkg.tar.xz', package: hello });
  await upload({ name: 'anytool', pkgver: '2.0', epoch: '1', arch: 'any', pkgext: '.pkg.tar.gz' });
  await publish();
});

after(async () => {
  if (skip) return;
  server.close();
  for (const name of ['x86_64', 'aarch64', 'untrusted']) {
    // Stop the gpg-agent pacman-key started for this keyring (started by this test).
    spawnSync('gpgconf', ['--homedir', path.join(T, `client-${name}`, 'gnupg'), '--kill', 'all']);
  }
  fs.rmSync(T, { recursive: true, force: true });
});

test('real pacman syncs, searches, installs, finds files and upgrades', { skip, timeout: 600_000 }, async () => {
  const c = client('x86_64');
  await trust(c);
  await c.pacman('-Sy');
  assert.ok(requests.includes(`x86_64/${REPO.name}.db.sig`), 'pacman fetched the db signature');

  assert.match(await c.pacman('-Ss', 'hello'), new RegExp(`^${REPO.name}/hello-art 1\\.10\\.0-1`, 'm'));
  // Uploaded 1.10.0 then 1.2.3: the db lists 1.10.0, the newest by vercmp.
  assert.match(await c.pacman('-Si', 'hello-art'), /^Version\s*: 1\.10\.0-1$/m);
  assert.match(await c.pacman('-Si', 'anytool'), /^Version\s*: 1:2\.0-1$/m);

  await c.pacman('-S', '--noscriptlet', '-dd', 'hello-art', 'anytool');
  assert.ok(fs.existsSync(path.join(c.dir, 'root/usr/bin/hello-art')));
  assert.ok(fs.existsSync(path.join(c.dir, 'root/usr/share/anytool/VERSION')));
  assert.ok(requests.some((r) => r.startsWith('x86_64/hello-art-1.10.0-1-x86_64.pkg.tar.zst.sig')), 'package .sig fetched');
  assert.ok(requests.includes('x86_64/anytool-1:2.0-1-any.pkg.tar.gz'), 'any package fetched under $arch (fallback)');

  await c.pacman('-Fy');
  assert.ok(requests.includes(`x86_64/${REPO.name}.files.sig`));
  assert.match(await c.pacman('-F', 'usr/bin/hello-art'), new RegExp(`is owned by ${REPO.name}/hello-art 1\\.10\\.0-1`));

  // A newer upload, republished: -Syu sees it.
  await upload({ name: 'hello-art', pkgver: '1.11.0', arch: 'x86_64' });
  await publish();
  await c.pacman('-Syu', '--noscriptlet');
  assert.match(await c.pacman('-Q', 'hello-art'), /^hello-art 1\.11\.0-1$/m);
});

test('an any package is found and installed from an aarch64 client', { skip, timeout: 600_000 }, async () => {
  const c = client('aarch64');
  await trust(c);
  await c.pacman('-Sy');
  assert.match(await c.pacman('-Si', 'anytool'), /^Architecture\s*: any$/m);
  // hello-art is x86_64 only: not in the aarch64 db.
  await assert.rejects(c.pacman('-Si', 'hello-art'), /was not found/);
  await c.pacman('-S', '--noscriptlet', '-dd', 'anytool');
  assert.ok(fs.existsSync(path.join(c.dir, 'root/usr/share/anytool/VERSION')));
  assert.ok(requests.includes('aarch64/anytool-1:2.0-1-any.pkg.tar.gz'));
});

test('control: without the repository key in its keyring, pacman refuses the db', { skip, timeout: 600_000 }, async () => {
  const c = client('x86_64', 'untrusted');
  await c.key('--init');
  // pacman 6.0.2 says: error: testrepo: key "<FPR>" is unknown
  await assert.rejects(c.pacman('-Sy'), new RegExp(`key "${signer.pgp.fingerprint.toUpperCase()}" is unknown`));
});
