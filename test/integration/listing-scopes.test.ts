/**
 * Listing scopes (src/core/listing-scopes.ts), through PyPI's project list (`root`): a new
 * version of an existing project republishes that project's page only; the list is
 * republished when a project gains its first file or loses its last, also when two requests
 * race to delete a project's last two files, or to upload the first files of new projects.
 * Runs on SQLite, MariaDB and PostgreSQL (TEST_DB).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { auth, getJson, upload } from '../helpers/http';
import { makeWheel, metadataText, tmpDir } from '../unit/pypi/helpers';

const REPO = 'listing';
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';
const dir = tmpDir();
let srv: TestServer;

/** Wheels built before the server starts (building blocks this process). */
const wheels = new Map<string, string>();
function wheel(project: string, version: string): string {
  const key = `${project}-${version}`;
  if (!wheels.has(key)) {
    const d = fs.mkdtempSync(path.join(dir, 'w-'));
    wheels.set(key, makeWheel(d, `${project}-${version}-py3-none-any.whl`, metadataText(project, version)));
  }
  return wheels.get(key)!;
}
const RACE_PROJECTS = ['race0', 'race1', 'race2', 'race3', 'race4'];
const NEW_PROJECTS = ['burst0', 'burst1', 'burst2', 'burst3', 'burst4', 'burst5'];

before(async () => {
  for (const v of ['1.0', '1.1', '1.2']) wheel('steady', v);
  for (const p of RACE_PROJECTS) for (const v of ['1.0', '2.0']) wheel(p, v);
  for (const p of NEW_PROJECTS) wheel(p, '1.0');
  srv = await startServer();
});
after(async () => {
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function put(project: string, version: string): Promise<void> {
  const r = await upload(srv.url, wheel(project, version), { repo: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function seqs(): Promise<Map<string, { requestedSeq: number; publishedSeq: number }>> {
  const r = await getJson(`${srv.url}/api/repos/pypi/${REPO}/status`, auth());
  assert.equal(r.status, 200);
  return new Map((r.body.scopes as { scope: string; requestedSeq: number; publishedSeq: number }[]).map((s) => [s.scope, s]));
}

async function listed(): Promise<string[]> {
  const r = await fetch(`${srv.url}/repo/pypi/${REPO}/simple/`, { headers: { Accept: JSON_TYPE } });
  assert.equal(r.status, 200);
  return ((await r.json()) as { projects: { name: string }[] }).projects.map((p) => p.name).sort();
}

async function remove(project: string, version: string): Promise<void> {
  const r = await fetch(`${srv.url}/api/repos/pypi/${REPO}/packages/${project}/${version}`, { method: 'DELETE', headers: auth() });
  assert.equal(r.status, 200, await r.text());
}

test('a new version of an existing project leaves the project list alone', async () => {
  await put('steady', '1.0');
  const first = await seqs();
  assert.equal(first.get('root')?.publishedSeq, 1, 'the first file of a project publishes the list');
  assert.deepEqual(await listed(), ['steady']);
  await put('steady', '1.1');
  await put('steady', '1.2');
  const later = await seqs();
  assert.equal(later.get('root')?.requestedSeq, 1, 'new versions did not request the list');
  assert.ok(later.get('project/steady')!.publishedSeq > first.get('project/steady')!.publishedSeq);
  const page = await getJson(`${srv.url}/repo/pypi/${REPO}/simple/steady/`, { Accept: JSON_TYPE });
  assert.deepEqual(page.body.versions, ['1.0', '1.1', '1.2']);
  // Deleting a version that is not the last one: the project stays listed, the list untouched.
  await remove('steady', '1.0');
  assert.equal((await seqs()).get('root')?.requestedSeq, 1);
  assert.deepEqual(await listed(), ['steady']);
});

test('deleting the last file of a project takes it off the list', async () => {
  await remove('steady', '1.1');
  await remove('steady', '1.2');
  assert.equal((await seqs()).get('root')?.requestedSeq, 2);
  assert.deepEqual(await listed(), []);
  assert.equal((await fetch(`${srv.url}/repo/pypi/${REPO}/simple/steady/`)).status, 404);
  await put('steady', '1.0');
  assert.deepEqual(await listed(), ['steady'], 'uploaded again: listed again');
});

test('racing deletes of a project\'s last two files still take it off the list', async () => {
  for (const p of RACE_PROJECTS) for (const v of ['1.0', '2.0']) await put(p, v);
  assert.deepEqual(await listed(), [...RACE_PROJECTS, 'steady'].sort());
  // Both versions of every project at once: each delete alone still sees the other's file.
  await Promise.all(RACE_PROJECTS.flatMap((p) => [remove(p, '1.0'), remove(p, '2.0')]));
  assert.deepEqual(await listed(), ['steady']);
});

test('racing first uploads of new projects all appear on the list', async () => {
  await Promise.all(NEW_PROJECTS.map((p) => put(p, '1.0')));
  assert.deepEqual(await listed(), [...NEW_PROJECTS, 'steady'].sort());
  const s = await seqs();
  assert.equal(s.get('root')!.publishedSeq, s.get('root')!.requestedSeq);
});
