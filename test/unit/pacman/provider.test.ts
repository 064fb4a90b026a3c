/**
 * The Provider object's small parts: identity, upload params, fallback paths, the pubkey route
 * (served by a real express app on port 0) and the setup snippets (fingerprint checked with gpg).
 */
import type { RepoInfo, RepoSigner } from '../../../src/core/provider';
import { providerRoutes, testRouteContext } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { DomainError } from '../../../src/core/errors';
import { pacmanProvider } from '../../../providers/pacman';
import { REPO, makeSigner, tmpDir } from './helpers';

test('identity and upload parameters', () => {
  assert.equal(pacmanProvider.name, 'pacman');
  assert.equal(pacmanProvider.title, 'pacman (Arch Linux)');
  assert.equal(pacmanProvider.selfDescribing, true);
  assert.deepEqual(pacmanProvider.uploadParams.parse({}), {});
  // Unknown keys are ignored, not an error.
  assert.deepEqual(pacmanProvider.uploadParams.parse({ dist: 'bookworm', reponame: 'x' }), {});
});

test('fallbackPaths: <arch>/<file> may be served from any/<file>', () => {
  const fb = pacmanProvider.fallbackPaths!;
  assert.deepEqual(fb('x86_64/tool-2.0-1-any.pkg.tar.zst'), ['any/tool-2.0-1-any.pkg.tar.zst']);
  assert.deepEqual(fb('aarch64/tool-1:2.0-1-any.pkg.tar.zst.sig'), ['any/tool-1:2.0-1-any.pkg.tar.zst.sig']);
  assert.deepEqual(fb('any/tool-2.0-1-any.pkg.tar.zst'), []);
  assert.deepEqual(fb('tool-2.0-1-any.pkg.tar.zst'), []);
  assert.deepEqual(fb('x86_64/sub/file'), []);
  assert.deepEqual(fb('../x'), []);
  assert.deepEqual(fb(''), []);
});

async function withRoutes(found: { repo: RepoInfo; signer: RepoSigner } | null, fn: (base: string) => Promise<void>): Promise<void> {
  const app = express();
  app.use('/repo/pacman/:repo', providerRoutes(pacmanProvider, () => (found ? testRouteContext({ ...found, base: 'http://x' }) : null)));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof DomainError ? err.status : 500;
    res.status(status).json({ error: (err as Error).message });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test('GET pubkey serves the armored repository key; 404 without a repository', async () => {
  const signer = await makeSigner();
  await withRoutes({ repo: REPO, signer }, async (base) => {
    const res = await fetch(`${base}/repo/pacman/testrepo/pubkey`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/pgp-keys/);
    const body = await res.text();
    assert.equal(body, signer.pgp.publicKeyArmored);
    // gpg reads it and reports the fingerprint the setup snippet tells users to lsign.
    const home = tmpDir('pacman-gpg-');
    fs.chmodSync(home, 0o700);
    const show = spawnSync('gpg', ['--homedir', home, '--with-colons', '--import-options', 'show-only', '--import'], { input: body });
    fs.rmSync(home, { recursive: true, force: true });
    assert.equal(show.status, 0, show.stderr.toString());
    const fpr = /^fpr:+([0-9A-F]+):/m.exec(show.stdout.toString())?.[1];
    assert.equal(fpr, signer.pgp.fingerprint.toUpperCase());
  });
  await withRoutes(null, async (base) => {
    const res = await fetch(`${base}/repo/pacman/nope/pubkey`);
    assert.equal(res.status, 404);
  });
});

test('setup: pacman.conf section and key commands with the real fingerprint', async () => {
  const signer = await makeSigner();
  const repoUrl = 'https://pkg.example.org/repo/pacman/testrepo';
  const snippets = await pacmanProvider.setup({ repo: REPO, repoUrl, baseUrl: 'https://pkg.example.org', signer, partitions: ['x86_64', 'any'] });
  const all = snippets.map((s) => s.code).join('\n');
  assert.match(all, /^\[testrepo\]\nSigLevel = Required\nServer = https:\/\/pkg\.example\.org\/repo\/pacman\/testrepo\/\$arch$/m);
  assert.ok(all.includes(`curl -fsSL ${repoUrl}/pubkey | sudo pacman-key --add -`));
  assert.ok(all.includes(`sudo pacman-key --lsign-key ${signer.pgp.fingerprint.toUpperCase()}`));
  // The ini snippet is a valid pacman.conf fragment for the real pacman-conf.
  const ini = snippets.find((s) => s.language === 'ini')!.code;
  const dir = tmpDir();
  const conf = path.join(dir, 'pacman.conf');
  fs.writeFileSync(conf, `[options]\nArchitecture = x86_64\n${ini}\n`);
  const r = spawnSync('pacman-conf', ['--config', conf, '--repo', 'testrepo']);
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.match(r.stdout.toString(), /Server = https:\/\/pkg\.example\.org\/repo\/pacman\/testrepo\/x86_64/);
  // pacman-conf expands `Required` into its package and database halves.
  assert.match(r.stdout.toString(), /SigLevel = PackageRequired\n/);
  assert.match(r.stdout.toString(), /SigLevel = DatabaseRequired\n/);
});
