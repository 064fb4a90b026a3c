/**
 * Publishing under load: while packages are uploaded one after another, a real dnf runs
 * `makecache --refresh` (repomd.xml, its .asc checked with repo_gpgcheck=1, primary and
 * filelists checked against repomd's checksums) in a loop, and no run may fail. The data files
 * of the generations retained after a publish stay readable, so a dnf that read repomd.xml
 * just before a publish still gets the primary it names.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { upload } from '../helpers/http';
import { rpmbuild, tmpDir } from '../unit/rpm/helpers';
import { dnfClient, dnfSkip as skip, repomdLocations } from './rpm-tools';

const REPO = 'busy';
const COUNT = 12;
let srv: TestServer;
let T: string;
const files: string[] = [];

before(async () => {
  if (skip) return;
  T = tmpDir('rpm-load-');
  srv = await startServer();
  for (let i = 0; i < COUNT; i++) files.push(rpmbuild({ name: `load-${String(i).padStart(2, '0')}`, version: '1.0', arch: i % 2 ? 'noarch' : 'x86_64' }, T).rpm);
  assert.equal((await upload(srv.url, files[0], { reponame: REPO })).status, 201);
});

after(async () => {
  if (skip) return;
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

test('dnf makecache --refresh never fails while uploads publish new repodata', { skip }, async () => {
  const c = dnfClient(T, 'load');
  c.setRepoFile('busy.repo', await (await fetch(`${srv.url}/repo/rpm/${REPO}/${REPO}.repo`)).text());
  const first = await c.dnf(['makecache']);
  assert.equal(first.code, 0, first.out);
  let uploading = true;
  const failures: string[] = [];
  let runs = 0;
  const loop = (async () => {
    while (uploading) {
      const r = await c.dnf(['--refresh', 'makecache']);
      runs++;
      if (r.code !== 0) failures.push(r.out);
    }
  })();
  // Paced so that publishes land all through the dnf runs (one takes about a second).
  for (const f of files.slice(1)) {
    const r = await upload(srv.url, f, { reponame: REPO });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await new Promise((res) => setTimeout(res, 350));
  }
  uploading = false;
  await loop;
  assert.deepEqual(failures, []);
  assert.ok(runs >= 3, `only ${runs} dnf runs overlapped the uploads`);
  const list = await c.dnf(['--refresh', 'list', '--available', 'load-*']);
  assert.equal(list.code, 0, list.out);
  assert.equal((list.out.match(/^load-\d\d\./gm) ?? []).length, COUNT, list.out);
});

test('a data file named by an older repomd.xml stays readable after the next publish', { skip }, async () => {
  const base = `${srv.url}/repo/rpm/${REPO}`;
  const old = repomdLocations(await (await fetch(`${base}/repodata/repomd.xml`)).text());
  const extra = rpmbuild({ name: 'late-comer', version: '1.0', arch: 'noarch' }, path.join(T));
  assert.equal((await upload(srv.url, extra.rpm, { reponame: REPO })).status, 201);
  const now = repomdLocations(await (await fetch(`${base}/repodata/repomd.xml`)).text());
  assert.notEqual(now.primary, old.primary);
  for (const href of [old.primary, now.primary]) assert.equal((await fetch(`${base}/${href}`)).status, 200, href);
  assert.equal((await fetch(`${base}/repodata/${'0'.repeat(64)}-primary.xml.gz`)).status, 404);
});
