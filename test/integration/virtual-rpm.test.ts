/**
 * Issue 14, a virtual rpm repository of two hosted members (the same `mergeBy: 'entries'`
 * declaration as apt, pacman and apk): the real dnf, set up from the virtual's served .repo
 * file (repo_gpgcheck with the virtual's key), installs the first member's package on a
 * name+version+arch clash and the second member's own package.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { auth, upload } from '../helpers/http';
import { rpmbuild, tmpDir } from '../unit/rpm/helpers';
import { dnfClient, dnfSkip as skip } from './rpm-tools';

let srv: TestServer;
let T: string;

before(async () => {
  if (skip) return;
  T = tmpDir('rpm-virtual-');
  srv = await startServer();
});

after(async () => {
  if (skip) return;
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

function built(dir: string, name: string, origin: string): string {
  fs.mkdirSync(path.join(T, dir), { recursive: true });
  return rpmbuild({ name, version: '1.0', arch: 'x86_64', files: { [`/usr/share/${name}/ORIGIN`]: `${origin}\n` } }, path.join(T, dir)).rpm;
}

test('dnf installs through a virtual signed with its own key: the first member wins a clash', { skip, timeout: 300_000 }, async () => {
  for (const [repo, file] of [['rpm-a', built('a', 'hello-virt', 'member-a')], ['rpm-b', built('b', 'hello-virt', 'member-b')], ['rpm-b', built('b2', 'other-virt', 'member-b')]] as const) {
    const r = await upload(srv.url, file, { reponame: repo });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const put = await fetch(`${srv.url}/api/repos/rpm/rpm-all`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ type: 'virtual', members: ['rpm-a', 'rpm-b'] }) });
  assert.equal(put.status, 201, await put.text());

  const repoFile = await (await fetch(`${srv.url}/repo/rpm/rpm-all.repo`)).text();
  assert.match(repoFile, /repo_gpgcheck=1/);
  assert.match(repoFile, /\/repo\/rpm\/rpm-all\//);
  const c = dnfClient(T, 'virtual');
  c.setRepoFile('rpm-all.repo', repoFile);
  const r = await c.dnf(['install', 'hello-virt', 'other-virt']);
  assert.equal(r.code, 0, r.out);
  assert.equal(fs.readFileSync(path.join(c.root, 'usr/share/hello-virt/ORIGIN'), 'utf8'), 'member-a\n', 'the clash resolves to the first member');
  assert.equal(fs.readFileSync(path.join(c.root, 'usr/share/other-virt/ORIGIN'), 'utf8'), 'member-b\n');

  // The virtual's key, not a member's: the member's key does not verify the virtual's repomd.xml.
  const memberKey = await (await fetch(`${srv.url}/repo/rpm/rpm-a.repo`)).text();
  const keyUrl = /gpgkey=(\S+)/.exec(memberKey)![1]!;
  const wrong = dnfClient(T, 'member-key');
  wrong.setRepoFile('rpm-all.repo', repoFile.replace(/gpgkey=\S+/, `gpgkey=${keyUrl}`));
  const refused = await wrong.dnf(['makecache']);
  assert.notEqual(refused.code, 0, refused.out);
  assert.match(refused.out, /GPG|signature/i);
});
