/**
 * Entries are rendered from stored metadata (src/core/entry-renderer.ts): a reindex renders
 * every entry again and republishes once, and an OpenPGP key rotation re-signs what the
 * repository key signed. Checked with the real clients: pacman with `SigLevel = Required
 * DatabaseRequired` trusting only the new key installs a package uploaded before the rotation,
 * and apt sees a field a changed rendering rule adds, after one reindex.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { aptProvider } from '../../providers/apt';
import { startServer, type TestServer } from '../helpers/server';
import { auth, getJson, upload } from '../helpers/http';
import { makepkg, tmpDir } from '../unit/pacman/helpers';
import { aptClient, bytes, synthDeb, WARN_OR_ERROR } from './apt-tools';
import { fingerprintOf, pacmanClient, pacmanSkip as skip, type PacmanClient } from './pacman-tools';

let srv: TestServer;
let T: string;
const clients: PacmanClient[] = [];

before(async () => {
  T = tmpDir('reindex-');
  srv = await startServer();
});

after(async () => {
  for (const c of clients) c.close();
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

const post = (path: string, body: unknown, token?: string) =>
  fetch(`${srv.url}${path}`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

async function pacmanTrusting(name: string, repo: string): Promise<PacmanClient> {
  const c = pacmanClient(T, name, 'x86_64', [{ name: repo, server: `${srv.url}/repo/pacman/${repo}/$arch` }]);
  clients.push(c);
  const key = await (await fetch(`${srv.url}/repo/pacman/${repo}/pubkey`)).text();
  await c.trust(key, fingerprintOf(key, T));
  return c;
}

test('after an OpenPGP rotation, pacman trusting only the new key installs a package uploaded before it', { skip, timeout: 300_000 }, async () => {
  const repo = 'rotated';
  const pkg = makepkg({ name: 'old-upload', pkgver: '1.0', arch: 'x86_64', package: '  mkdir -p "$pkgdir/usr/share/old-upload"; echo hi > "$pkgdir/usr/share/old-upload/hi"' }, T);
  const r = await upload(srv.url, pkg, { provider: 'pacman', reponame: repo });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const sigBefore = await bytes(`${srv.url}/repo/pacman/${repo}/x86_64/${r.body.filename}.sig`);
  const before = await pacmanTrusting('before', repo);
  await before.pacman('-Sy');

  const rot = await post(`/api/repos/pacman/${repo}/keys/rotate`, { kind: 'openpgp' });
  assert.equal(rot.status, 200, await rot.clone().text());
  assert.deepEqual(((await rot.json()) as { republished: string[] }).republished, ['x86_64']);
  const sigAfter = await bytes(`${srv.url}/repo/pacman/${repo}/x86_64/${r.body.filename}.sig`);
  assert.ok(!sigAfter.equals(sigBefore), 'the package signature was made again');

  // A client that knows only the new key: db signature and package signature must both verify.
  const fresh = await pacmanTrusting('after', repo);
  await fresh.pacman('-Sy');
  assert.match(await fresh.pacman('-Si', 'old-upload'), /^Validated By\s*: .*Signature/m);
  await fresh.pacman('-S', '--noconfirm', 'old-upload');
  assert.ok(fs.existsSync(`${fresh.dir}/root/usr/share/old-upload/hi`), 'installed into the client root');
  // The client that trusts only the old key now refuses the db: the rotation really changed the signer.
  const old = await before.pacmanResult('-Sy');
  assert.notEqual(old.code, 0, old.out);
});

test('a changed rendering rule reaches apt after one reindex; rows without index data are left as they are', { timeout: 240_000 }, async () => {
  const repo = 'rerender';
  const control = (name: string) => `Package: ${name}\nVersion: 1.0\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: ${name}\n`;
  for (const name of ['first', 'legacy']) {
    const r = await upload(srv.url, { name: `${name}_1.0_amd64.deb`, data: synthDeb(control(name)) }, { provider: 'apt', reponame: repo });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  // A row stored before entries were re-renderable has no index data.
  await srv.services.db.manager.query("UPDATE files SET index_data = NULL WHERE name = 'legacy'");

  const original = aptProvider.renderEntry;
  // The "test build": a rendering rule that adds a field to every stanza.
  (aptProvider as { renderEntry: typeof original }).renderEntry = async (pkg, ctx) => {
    const r = await original(pkg, ctx);
    return { ...r, entry: `${r.entry}X-Rendered-By: reindex\n` };
  };
  try {
    const denied = await post(`/api/repos/apt/${repo}/reindex`, {}, (await createToken('write')).token);
    assert.equal(denied.status, 403);
    const res = await post(`/api/repos/apt/${repo}/reindex`, {});
    const body = (await res.json()) as { rendered: number; changed: number; skipped: number; republished: string[] };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual({ rendered: body.rendered, changed: body.changed, skipped: body.skipped, republished: body.republished }, { rendered: 1, changed: 1, skipped: 1, republished: ['dists/stable'] });
  } finally {
    (aptProvider as { renderEntry: typeof original }).renderEntry = original;
  }

  const keyring = await bytes(`${srv.url}/repo/apt/${repo}/keyring.gpg`);
  const apt = aptClient({ keyring, sources: `deb [signed-by=KEYRING] ${srv.url}/repo/apt/${repo} stable main\n` });
  const up = await apt.update();
  assert.equal(up.code, 0, up.out);
  assert.doesNotMatch(up.out, WARN_OR_ERROR, up.out);
  const first = await apt.run('apt-cache', ['show', 'first']);
  assert.match(first.out, /^X-Rendered-By: reindex$/m, first.out);
  const legacy = await apt.run('apt-cache', ['show', 'legacy']);
  assert.equal(legacy.code, 0, legacy.out);
  assert.doesNotMatch(legacy.out, /X-Rendered-By/, 'a row without index data keeps its stored entry');

  // Reindex again with the original rule: the field goes, nothing else changes.
  const again = (await (await post(`/api/repos/apt/${repo}/reindex`, {})).json()) as { changed: number };
  assert.equal(again.changed, 1);
  await apt.update();
  assert.doesNotMatch((await apt.run('apt-cache', ['show', 'first'])).out, /X-Rendered-By/);
});

test('reindex of a missing repository is 404; an unknown body field is 400', async () => {
  assert.equal((await post('/api/repos/apt/nope/reindex', {})).status, 404);
  const r = await upload(srv.url, { name: 'xy_1.0_amd64.deb', data: synthDeb('Package: xy\nVersion: 1.0\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: xy\n') }, { provider: 'apt', reponame: 'bodycheck' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const bad = await post('/api/repos/apt/bodycheck/reindex', { force: true });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /force/);
});

async function createToken(role: 'read' | 'write' | 'admin'): Promise<{ token: string }> {
  const r = await getJson(`${srv.url}/api/tokens`, auth());
  assert.equal(r.status, 200);
  const res = await post('/api/tokens', { name: `reindex-${role}-${Date.now()}`, role });
  assert.equal(res.status, 201);
  return (await res.json()) as { token: string };
}
