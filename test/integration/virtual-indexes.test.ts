/**
 * Issue 14, virtual repositories of apt and apk (pacman: virtual-pacman.test.ts): two hosted
 * members with one name+version+arch clash, a virtual of both that publishes one merged index
 * signed with its own key. apt: the real apt-get with only the virtual's keyring (date checks
 * on, nothing trusted=yes, apt-tools.ts). apk: the independent reader of
 * test/unit/apk/apk-index-reader.ts and `openssl dgst -verify` with the virtual's served key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { auth, getJson, upload } from '../helpers/http';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';
import { aptClient, bytes, WARN_OR_ERROR, type RunResult } from './apt-tools';
import { buildApk, pkginfoFor } from '../unit/apk/apk-builder';
import { opensslVerify, packageChecksum, readIndex } from '../unit/apk/apk-index-reader';

let srv: TestServer;
const work = tmpDir('virtual-idx-');
fs.chmodSync(work, 0o755);

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function putKind(provider: string, name: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${srv.url}/api/repos/${provider}/${name}`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function up(file: string | { name: string; data: Buffer }, query: Record<string, string>): Promise<void> {
  const r = await upload(srv.url, file, query);
  assert.equal(r.status, 201, `upload into ${query.reponame}: ${JSON.stringify(r.body)}`);
}

function deb(fields: Record<string, string>): string {
  return buildDeb(work, controlText({ Maintainer: 'Test <test@example.org>', Architecture: 'amd64', ...fields }), 'xz');
}

function clean(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.out}`);
  assert.doesNotMatch(r.out, WARN_OR_ERROR, `${what} printed a warning or error:\n${r.out}`);
}

test('apt: apt-get reads one merged index signed with the virtual key only; the clash goes to the first member', async () => {
  const a = { hello: deb({ Package: 'hello', Version: '1.0-1', Description: 'hello from member A' }), common: deb({ Package: 'common', Version: '3.0', Architecture: 'all', Description: 'arch all' }) };
  const b = { hello: deb({ Package: 'hello', Version: '1.0-1', Description: 'hello from member B (different bytes)' }), hello09: deb({ Package: 'hello', Version: '0.9-1', Description: 'older' }), other: deb({ Package: 'other', Version: '2.0-1', Description: 'only in B' }) };
  for (const f of Object.values(a)) await up(f, { reponame: 'deb-a' });
  for (const f of Object.values(b)) await up(f, { reponame: 'deb-b' });
  const v = await putKind('apt', 'deb-all', { type: 'virtual', members: ['deb-a', 'deb-b'] });
  assert.equal(v.status, 201, JSON.stringify(v.body));
  assert.deepEqual(v.body.members, ['deb-a', 'deb-b']);

  const base = `${srv.url}/repo/apt/deb-all`;
  const keyring = await bytes(`${base}/keyring.gpg`);
  const memberKeyring = await bytes(`${srv.url}/repo/apt/deb-a/keyring.gpg`);
  assert.notEqual(sha256(keyring), sha256(memberKeyring), 'the virtual has its own key');

  const c = aptClient({ keyring, sources: `deb [signed-by=KEYRING] ${base} stable main\n` });
  clean(await c.update(), 'apt-get update');
  // One hello 1.0-1 (member A's), B's older version, and each member's own packages.
  assert.deepEqual(await c.versions('hello'), ['1.0-1', '0.9-1']);
  assert.equal(await c.candidate('other'), '2.0-1');
  assert.equal(await c.candidate('common'), '3.0');
  const d = await c.run('apt-get', ['download', 'hello', 'other', 'common', 'hello=0.9-1'], c.dlDir);
  clean(d, 'apt-get download');
  const got = (f: string) => sha256(fs.readFileSync(path.join(c.dlDir, f)));
  assert.equal(got('hello_1.0-1_amd64.deb'), sha256(fs.readFileSync(a.hello)), 'the clash resolves to the first member');
  assert.equal(got('hello_0.9-1_amd64.deb'), sha256(fs.readFileSync(b.hello09)));
  assert.equal(got('other_2.0-1_amd64.deb'), sha256(fs.readFileSync(b.other)));
  assert.equal(got('common_3.0_all.deb'), sha256(fs.readFileSync(a.common)));

  // Signed by the virtual's key, not a member's: apt with member A's keyring refuses it.
  const wrong = aptClient({ keyring: memberKeyring, sources: `deb [signed-by=KEYRING] ${base} stable main\n` });
  const w = await wrong.update();
  assert.match(w.out, /NO_PUBKEY|not signed|invalid/i, `a member's key must not verify the virtual's InRelease:\n${w.out}`);

  // An upload to a member is in the virtual's index once the upload has answered (published).
  await up(deb({ Package: 'newtool', Version: '1.5-1', Description: 'uploaded later to B' }), { reponame: 'deb-b' });
  clean(await c.update(), 'apt-get update after an upload to a member');
  assert.equal(await c.candidate('newtool'), '1.5-1');

  // Deleting it from the member takes it out of the virtual too.
  const del = await fetch(`${srv.url}/api/repos/apt/deb-b/packages/newtool/1.5-1`, { method: 'DELETE', headers: auth() });
  assert.equal(del.status, 200, await del.text());
  clean(await c.update(), 'apt-get update after a delete in a member');
  assert.equal(await c.candidate('newtool'), null);

  // Member order changed: B now wins the clash, after the PUT has answered.
  assert.equal((await putKind('apt', 'deb-all', { type: 'virtual', members: ['deb-b', 'deb-a'] })).status, 200);
  clean(await c.update(), 'apt-get update after reordering the members');
  const d2 = await c.run('apt-get', ['download', 'hello=1.0-1'], c.dlDir);
  clean(d2, 'apt-get download after reordering');
  assert.equal(got('hello_1.0-1_amd64.deb'), sha256(fs.readFileSync(b.hello)), 'the new first member wins');
});

test('apt: uploads into the virtual are refused naming the hosted member; a remote member is refused', async () => {
  await up(deb({ Package: 'solo', Version: '1' }), { reponame: 'deb-c' });
  assert.equal((await putKind('apt', 'deb-v2', { type: 'virtual', members: ['deb-c'] })).status, 201);
  const r = await upload(srv.url, deb({ Package: 'intruder', Version: '1' }), { reponame: 'deb-v2' });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.match(String(r.body.error), /virtual repository; upload to its hosted member "deb-c"/);
  // Nothing of the refused upload is visible in the virtual.
  const pk = await fetch(`${srv.url}/repo/apt/deb-v2/dists/stable/main/binary-amd64/Packages`);
  assert.equal(pk.status, 200);
  const text = await pk.text();
  assert.match(text, /^Package: solo$/m);
  assert.doesNotMatch(text, /intruder/);

  const remote = await putKind('apt', 'deb-up', { type: 'remote', upstream: 'http://127.0.0.1:9/debian' });
  assert.equal(remote.status, 201, JSON.stringify(remote.body));
  const bad = await putKind('apt', 'deb-v3', { type: 'virtual', members: ['deb-c', 'deb-up'] });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /member "deb-up" is a remote repository; apt virtual repositories merge hosted members only/);
  assert.equal((await getJson(`${srv.url}/api/repos/apt/deb-v3`, auth())).status, 404, 'nothing was created');
});

test('apt: a wait=0 import into a member, then POST .../publish: the virtual lists it when the call answers', async () => {
  await up(deb({ Package: 'base', Version: '1' }), { reponame: 'deb-imp' });
  assert.equal((await putKind('apt', 'deb-impv', { type: 'virtual', members: ['deb-imp'] })).status, 201);
  const r = await upload(srv.url, deb({ Package: 'imported', Version: '2' }), { reponame: 'deb-imp', wait: '0' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const pub = await fetch(`${srv.url}/api/repos/apt/deb-imp/publish`, { method: 'POST', headers: auth() });
  assert.equal(pub.status, 200, await pub.clone().text());
  const status = (await getJson(`${srv.url}/api/repos/apt/deb-impv/status`, auth())).body;
  for (const sc of status.scopes) assert.ok(sc.publishedSeq >= sc.requestedSeq, `virtual scope ${sc.scope} still pending`);
  const text = await (await fetch(`${srv.url}/repo/apt/deb-impv/dists/stable/main/binary-amd64/Packages`)).text();
  assert.match(text, /^Package: imported$/m);
});

function apk(name: string, version: string, arch: string, note: string): Buffer {
  return buildApk({ pkginfo: pkginfoFor(name, version, arch, [['pkgdesc', note]]) }).bytes;
}

/** The virtual's APKINDEX for main/x86_64, checked as apk would with the keys the virtual serves. */
async function apkIndex(repo: string): Promise<Array<Map<string, string>>> {
  const base = `${srv.url}/repo/apk/${repo}`;
  const idx = readIndex(await bytes(`${base}/main/x86_64/APKINDEX.tar.gz`));
  const keys = await getJson(`${base}/keys/`);
  const served = new Map<string, string>();
  for (const k of keys.body.entries as Array<{ name: string; url: string }>) served.set(k.name, (await bytes(k.url)).toString('utf8'));
  assert.ok(idx.signatures.length >= 1, 'signed');
  for (const sig of idx.signatures) {
    const pem = served.get(sig.keyName);
    assert.ok(pem, `signed by ${sig.keyName}, which ${repo}/keys/ does not serve`);
    const v = opensslVerify(pem, sig.signature, idx.unsigned);
    assert.ok(v.ok, `openssl: ${v.output}`);
  }
  return idx.records;
}

test('apk: one APKINDEX signed with the virtual key (openssl), clash to the first member, members\' uploads appear', async () => {
  const a = { foo: apk('foo', '1.0-r0', 'x86_64', 'foo from A'), noarch: apk('docs', '1-r0', 'noarch', 'noarch from A') };
  const b = { foo: apk('foo', '1.0-r0', 'x86_64', 'foo from B'), bar: apk('bar', '2.0-r0', 'x86_64', 'bar from B') };
  await up({ name: 'foo.apk', data: a.foo }, { reponame: 'apk-a' });
  await up({ name: 'docs.apk', data: a.noarch }, { reponame: 'apk-a' });
  await up({ name: 'foo.apk', data: b.foo }, { reponame: 'apk-b' });
  await up({ name: 'bar.apk', data: b.bar }, { reponame: 'apk-b' });
  assert.equal((await putKind('apk', 'apk-all', { type: 'virtual', members: ['apk-a', 'apk-b'] })).status, 201);

  // The virtual's key is its own: a member's index signature does not verify with it.
  const vKeys = (await getJson(`${srv.url}/repo/apk/apk-all/keys/`)).body.entries.map((k: { name: string }) => k.name);
  const aKeys = (await getJson(`${srv.url}/repo/apk/apk-a/keys/`)).body.entries.map((k: { name: string }) => k.name);
  assert.equal(vKeys.filter((k: string) => aKeys.includes(k)).length, 0, `${vKeys} vs ${aKeys}`);

  const records = await apkIndex('apk-all');
  const byName = (n: string) => records.filter((r) => r.get('P') === n);
  assert.equal(byName('foo').length, 1);
  assert.equal(byName('foo')[0]!.get('C'), packageChecksum(a.foo), 'the clash resolves to the first member');
  assert.equal(byName('bar')[0]!.get('C'), packageChecksum(b.bar));
  // noarch packages are listed with the index's arch (docs/formats/apk.md) and served from noarch/.
  assert.equal(byName('docs')[0]!.get('A'), 'x86_64');
  // Package files as apk builds their URLs: <base>/<branch>/<A:>/<P>-<V>.apk, the winning bytes.
  for (const [rec, want] of [[byName('foo')[0]!, a.foo], [byName('bar')[0]!, b.bar], [byName('docs')[0]!, a.noarch]] as const) {
    const got = await bytes(`${srv.url}/repo/apk/apk-all/main/${rec.get('A')}/${rec.get('P')}-${rec.get('V')}.apk`);
    assert.equal(sha256(got), sha256(want), `${rec.get('P')}`);
  }

  await up({ name: 'baz.apk', data: apk('baz', '0.1-r0', 'x86_64', 'later') }, { reponame: 'apk-b' });
  const after = await apkIndex('apk-all');
  assert.deepEqual(after.map((r) => r.get('P')).sort(), ['bar', 'baz', 'docs', 'foo']);

  const r = await upload(srv.url, { name: 'x.apk', data: apk('x', '1-r0', 'x86_64', 'x') }, { reponame: 'apk-all' });
  assert.equal(r.status, 400);
  assert.match(String(r.body.error), /upload to its hosted member "apk-a"/);
});
