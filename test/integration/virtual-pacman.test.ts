/**
 * Issue 14, a virtual pacman repository of two hosted members: the real pacman 6 (isolated,
 * pacman-tools.ts) with `SigLevel = Required DatabaseRequired` syncs the virtual's db signed
 * with the virtual's own key (GET /repo/pacman/<virtual>/pubkey), installs the first member's
 * package on a name+version+arch clash, and sees a member's later upload. Packages the members
 * signed with their own repository key are signed with the virtual's key in its db (%PGPSIG%)
 * and .sig; a packager's signature stays the packager's. The keyring holds the virtual's key
 * and the packager's only.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { auth, upload } from '../helpers/http';
import { makepkg, tmpDir } from '../unit/pacman/helpers';
import { fingerprintOf, pacmanClient, pacmanSkip as skip, packagerKey, type PackagerKey, type PacmanClient } from './pacman-tools';

let srv: TestServer;
let T: string;
let packager: PackagerKey;
const clients: PacmanClient[] = [];

before(async () => {
  if (skip) return;
  T = tmpDir('pacman-virtual-');
  srv = await startServer();
  packager = packagerKey(T);
});

after(async () => {
  if (skip) return;
  for (const c of clients) c.close();
  packager.close();
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

/** A makepkg package whose payload says where it came from; `packagerSigned`: uploaded with the packager's signature, else the member's key signs it. */
async function uploadPkg(repo: string, name: string, pkgver: string, origin: string, packagerSigned: boolean): Promise<void> {
  const out = fs.mkdtempSync(path.join(T, `${repo}-`));
  fs.chmodSync(out, 0o777);
  const file = makepkg({ name, pkgver, arch: 'x86_64', package: `  mkdir -p "$pkgdir/usr/share/${name}"; echo ${origin} > "$pkgdir/usr/share/${name}/ORIGIN"` }, out);
  const extra = packagerSigned ? { sig: { name: `${path.basename(file)}.sig`, data: packager.sign(file) } } : undefined;
  const r = await upload(srv.url, file, { provider: 'pacman', reponame: repo }, { extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

const bytes = async (url: string) => {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return Buffer.from(await r.arrayBuffer());
};

async function pubkey(repo: string): Promise<{ armored: string; fpr: string }> {
  const res = await fetch(`${srv.url}/repo/pacman/${repo}/pubkey`);
  assert.equal(res.status, 200);
  const armored = await res.text();
  return { armored, fpr: fingerprintOf(armored, T) };
}

function client(name: string, repo: string): PacmanClient {
  const c = pacmanClient(T, name, 'x86_64', [{ name: repo, server: `${srv.url}/repo/pacman/${repo}/$arch` }]);
  clients.push(c);
  return c;
}

test('pacman -Sy/-S through a virtual: its own key signs the db, the first member wins a clash, uploads to members appear', { skip, timeout: 300_000 }, async () => {
  await uploadPkg('arch-a', 'hello-virt', '1.0', 'member-a', false);
  await uploadPkg('arch-b', 'hello-virt', '1.0', 'member-b', false);
  await uploadPkg('arch-b', 'other-virt', '2.0', 'member-b', true);
  const put = await fetch(`${srv.url}/api/repos/pacman/arch-all`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ type: 'virtual', members: ['arch-a', 'arch-b'] }) });
  assert.equal(put.status, 201, await put.text());

  const vkey = await pubkey('arch-all');
  const akey = await pubkey('arch-a');
  assert.notEqual(vkey.fpr, akey.fpr, 'the virtual has its own key');
  // The repository-signed package's .sig is the virtual's own; the packager's stays as uploaded.
  const file = 'x86_64/hello-virt-1.0-1-x86_64.pkg.tar.zst';
  const virtualSig = await bytes(`${srv.url}/repo/pacman/arch-all/${file}.sig`);
  assert.ok(!virtualSig.equals(await bytes(`${srv.url}/repo/pacman/arch-a/${file}.sig`)));
  const other = 'x86_64/other-virt-2.0-1-x86_64.pkg.tar.zst';
  assert.ok((await bytes(`${srv.url}/repo/pacman/arch-all/${other}.sig`)).equals(await bytes(`${srv.url}/repo/pacman/arch-b/${other}.sig`)));

  const c = client('virtual', 'arch-all');
  await c.trust(vkey.armored, vkey.fpr);
  await c.trust(packager.armoredPublic, packager.fingerprint);
  await c.pacman('-Sy');
  assert.match(await c.pacman('-Ss', 'virt'), /^arch-all\/hello-virt 1\.0-1\n[\s\S]*^arch-all\/other-virt 2\.0-1$/m);
  await c.pacman('-S', '--noscriptlet', 'hello-virt', 'other-virt');
  assert.equal(fs.readFileSync(path.join(c.dir, 'root/usr/share/hello-virt/ORIGIN'), 'utf8'), 'member-a\n', 'the clash resolves to the first member');
  assert.equal(fs.readFileSync(path.join(c.dir, 'root/usr/share/other-virt/ORIGIN'), 'utf8'), 'member-b\n');

  // Published once the member's upload has answered: -Syu upgrades to it.
  await uploadPkg('arch-b', 'other-virt', '2.1', 'member-b-2.1', true);
  await c.pacman('-Syu', '--noscriptlet');
  assert.ok((await bytes(`${srv.url}/repo/pacman/arch-all/${file}.sig`)).equals(virtualSig), 'an unchanged package is not signed again');
  assert.equal(fs.readFileSync(path.join(c.dir, 'root/usr/share/other-virt/ORIGIN'), 'utf8'), 'member-b-2.1\n');

  // A keyring with a member's repository key instead of the virtual's: the db is refused.
  const m = client('member-key', 'arch-all');
  await m.trust(akey.armored, akey.fpr);
  const refused = await m.pacmanResult('-Sy');
  assert.notEqual(refused.code, 0, refused.out);
  assert.ok(refused.out.includes(`arch-all: key "${vkey.fpr}" is unknown`), refused.out);
  assert.match(refused.out, /invalid or corrupted database \(PGP signature\)/);
});
