/**
 * Issue 6 end to end: apk packages through POST /addpkg on a real server, and everything an
 * apk client reads back over HTTP. Debian has no apk client, so the client side is the
 * independent reader of test/unit/apk/apk-index-reader.ts (its own gzip member splitter and
 * tar reader, not the provider's) plus the real `openssl dgst -sha256 -verify` against the
 * public key the server serves, and every C:/S: recomputed from the package bytes fetched
 * from the URL apk builds from a record: `<base>/<A:>/<P>-<V>.apk`.
 * Packages are made by test/unit/apk/apk-builder.ts (docs/formats/apk.md#package-file, #pkginfo, abuild's layout).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { startServer, type TestServer } from '../helpers/server';
import { upload, getJson, auth } from '../helpers/http';
import { buildApk, dataTar, END_OF_ARCHIVE, gzip, paxRecord, pkginfoFor, tarFile, ustarHeader, type BuildOptions } from '../unit/apk/apk-builder';
import { gzipMembers, opensslVerify, packageChecksum, readIndex, tarItems, type ReadIndex } from '../unit/apk/apk-index-reader';
import { rsaKey } from '../unit/apk/helpers';

let srv: TestServer;
const REPO = 'alpine';
/** The package files as uploaded, by name-version-arch, to compare downloads with. */
const uploaded = new Map<string, Buffer>();
const packager = rsaKey('packager-0123abcd.rsa.pub');

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

const repoBase = (repo = REPO) => `${srv.url}/repo/apk/${repo}`;

function apk(name: string, version: string, arch: string, opts: Partial<BuildOptions> = {}): Buffer {
  const bytes = buildApk({ pkginfo: pkginfoFor(name, version, arch, [['depend', 'musl'], ['provides', `cmd:${name}=${version}`]]), ...opts }).bytes;
  uploaded.set(`${name}-${version}-${arch}`, bytes);
  return bytes;
}

async function put(bytes: Buffer, query: Record<string, string>, filename = 'pkg.apk') {
  return upload(srv.url, { name: filename, data: bytes }, { reponame: REPO, ...query });
}

async function download(url: string, headers: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const r = await fetch(url, { headers });
  return { status: r.status, bytes: Buffer.from(await r.arrayBuffer()), headers: r.headers };
}

/** What the server lists at keys/ (JSON) and each key's PEM, as a client would fetch them. */
async function servedKeys(repo = REPO, headers: Record<string, string> = {}): Promise<Map<string, string>> {
  const list = await getJson(`${repoBase(repo)}/keys/`, headers);
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const keys = new Map<string, string>();
  for (const k of (list.body as { entries: Array<{ name: string; url: string }> }).entries) {
    const pem = await download(k.url, headers);
    assert.equal(pem.status, 200, k.url);
    keys.set(k.name, pem.bytes.toString('utf8'));
  }
  return keys;
}

/** Field order of apk's index writer (docs/formats/apk.md#apkindex). */
const FIELD_ORDER = 'CPVASITULomtckDpi';

/**
 * Fetch `<base>/<branch>/<arch>/APKINDEX.tar.gz` and check it as apk would: the signature
 * member (padded tar entries, no end-of-archive blocks) verified by openssl with each served
 * key, the unsigned part a normal tar with DESCRIPTION and APKINDEX, and every record's
 * C:/S: recomputed from the file at `<base>/<branch>/<A:>/<P>-<V>.apk`.
 */
async function checkIndex(branch: string, arch: string, opts: { repo?: string; headers?: Record<string, string> } = {}): Promise<ReadIndex & { bytes: Buffer; records: Array<Map<string, string>> }> {
  const base = `${repoBase(opts.repo)}/${branch}`;
  const res = await download(`${base}/${arch}/APKINDEX.tar.gz`, opts.headers);
  assert.equal(res.status, 200, `${branch}/${arch}: ${res.bytes.toString().slice(0, 200)}`);
  assert.equal(res.headers.get('content-type'), 'application/gzip');
  const idx = readIndex(res.bytes);
  // served = S ‖ U, exactly two members, nothing else
  const members = gzipMembers(res.bytes);
  assert.equal(members.length, 2, 'signature member + unsigned index');
  assert.ok(Buffer.concat([members[0]!.raw, members[1]!.raw]).equals(res.bytes));
  assert.ok(idx.unsigned.equals(members[1]!.raw));
  // signature tar: whole 512-byte blocks, each entry padded, no zero blocks at all
  const sigTar = idx.signatureTar!;
  assert.equal(sigTar.length % 512, 0, 'signature tar is 512-padded');
  const { items, zeroBlocksAt } = tarItems(sigTar);
  assert.equal(zeroBlocksAt, undefined, 'no end-of-archive blocks after the signature entries');
  let end = 0;
  for (const it of items) {
    assert.equal(it.offset, end);
    assert.equal(it.type, '0');
    end = it.offset + 512 + Math.ceil(it.data.length / 512) * 512;
  }
  assert.equal(end, sigTar.length);
  // signatures: RSA256 with a served key, verified by openssl over U
  const keys = await servedKeys(opts.repo, opts.headers);
  assert.ok(idx.signatures.length >= 1);
  for (const sig of idx.signatures) {
    const pem = keys.get(sig.keyName);
    assert.ok(pem, `the index is signed by ${sig.keyName}, which keys/ does not list (${[...keys.keys()]})`);
    const v = opensslVerify(pem, sig.signature, idx.unsigned);
    assert.ok(v.ok, `openssl: ${v.output}`);
    assert.equal(sig.signature.length, 256, 'RSA 2048');
  }
  // records: fields in writer order, A: the index arch, C:/S: from the downloaded package
  for (const rec of idx.records) {
    const letters = [...rec.keys()].join('');
    const order = [...letters].map((l) => FIELD_ORDER.indexOf(l));
    assert.ok(order.every((o, i) => o >= 0 && (i === 0 || o > order[i - 1]!)), `field order ${letters}`);
    for (const l of 'CPVASI') assert.ok(rec.has(l), `record lacks ${l}:`);
    assert.equal(rec.get('A'), arch);
    assert.match(rec.get('C')!, /^Q1[A-Za-z0-9+/]{27}=$/);
    const pkgUrl = `${base}/${rec.get('A')}/${rec.get('P')}-${rec.get('V')}.apk`;
    const pkg = await download(pkgUrl, opts.headers);
    assert.equal(pkg.status, 200, pkgUrl);
    assert.equal(Number(rec.get('S')), pkg.bytes.length, `S: of ${pkgUrl}`);
    assert.equal(rec.get('C'), packageChecksum(pkg.bytes), `C: of ${pkgUrl}`);
  }
  return { ...idx, bytes: res.bytes };
}

const recordsOf = (idx: ReadIndex, name: string) => idx.records.filter((r) => r.get('P') === name);
const versionsOf = (idx: ReadIndex, name: string) => recordsOf(idx, name).map((r) => r.get('V'));

test('upload with provider=apk and branch=v3.20/main: 201, stored under <branch>/<arch>/<name>-<version>.apk', async () => {
  const bytes = apk('hello', '1.0-r0', 'x86_64');
  const r = await put(bytes, { provider: 'apk', branch: 'v3.20/main' }, 'hello-1.0-r0.apk');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.provider, 'apk');
  assert.equal(r.body.name, 'hello');
  assert.equal(r.body.version, '1.0-r0');
  assert.equal(r.body.arch, 'x86_64');
  assert.equal(r.body.path, 'v3.20/main/x86_64/hello-1.0-r0.apk');
  assert.equal(r.body.url, `${repoBase()}/v3.20/main/x86_64/hello-1.0-r0.apk`);
  assert.equal(r.body.published, true);
  const dl = await download(r.body.url as string);
  assert.equal(dl.status, 200);
  assert.ok(dl.bytes.equals(bytes));
  // the same package for aarch64, a noarch one, and one carrying a packager signature member
  for (const [b, name] of [
    [apk('hello', '1.0-r0', 'aarch64'), 'hello-aarch64.apk'],
    [apk('docs', '2.0-r1', 'noarch'), 'docs.apk'],
    [apk('tool', '0.5-r0', 'x86_64', { sign: { keyName: packager.keyName, privateKey: packager.privateKey } }), 'tool.apk'],
  ] as const) {
    const u = await put(b, { provider: 'apk', branch: 'v3.20/main' }, name);
    assert.equal(u.status, 201, JSON.stringify(u.body));
  }
});

test('upload with provider omitted: detected as apk, branch given or defaulting to main', async () => {
  const r = await put(apk('auto', '1.0-r0', 'x86_64'), { branch: 'v3.20/main' }, 'auto.apk');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.provider, 'apk');
  assert.equal(r.body.path, 'v3.20/main/x86_64/auto-1.0-r0.apk');
  const m = await put(apk('plain', '3.1-r2', 'aarch64'), {}, 'whatever-name.bin');
  assert.equal(m.status, 201, JSON.stringify(m.body));
  assert.equal(m.body.provider, 'apk');
  assert.equal(m.body.path, 'main/aarch64/plain-3.1-r2.apk');
  // a request name/version that contradicts the package is refused
  const wrong = await put(apk('auto', '1.1-r0', 'x86_64'), { provider: 'apk', name: 'other' });
  assert.equal(wrong.status, 400);
  assert.match(String(wrong.body.error), /does not match the package's own name "auto"/);
});

test('keys/: HTML and JSON listing, and the PEM key file openssl reads', async () => {
  const json = await getJson(`${repoBase()}/keys/`);
  assert.equal(json.status, 200);
  // The `{path, entries}` shape of every other listing.
  assert.equal(json.body.path, new URL(`${repoBase()}/keys/`).pathname);
  assert.equal(json.body.entries.length, 1);
  const { name, url, type } = json.body.entries[0] as { name: string; url: string; type: string };
  assert.equal(type, 'file');
  assert.match(name, /^alpine-[0-9a-f]{8}\.rsa\.pub$/);
  assert.equal(url, `${repoBase()}/keys/${name}`);
  const html = await fetch(`${repoBase()}/keys/`, { headers: { Accept: 'text/html' } });
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-type')!, /text\/html/);
  assert.ok((await html.text()).includes(`<a href="${url}">${name}</a>`));
  // without the slash, as a browser would type it
  assert.equal((await getJson(`${repoBase()}/keys`)).body.entries[0].name, name);
  const pem = await download(url);
  assert.equal(pem.status, 200);
  assert.match(pem.bytes.toString(), /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
  const keyFile = path.join(srv.dataDir, name);
  fs.writeFileSync(keyFile, pem.bytes);
  const o = spawnSync('openssl', ['pkey', '-pubin', '-in', keyFile, '-noout', '-text'], { encoding: 'utf8' });
  assert.equal(o.status, 0, o.stderr);
  assert.match(o.stdout, /Public-Key: \(2048 bit\)/);
  assert.equal((await fetch(`${repoBase()}/keys/nope.rsa.pub`)).status, 404);
  assert.equal((await fetch(`${srv.url}/repo/apk/no-such-repo/keys/`, { headers: auth() })).status, 404);
});

test('x86_64 and aarch64 APKINDEX.tar.gz: signed (openssl), well-formed, every C:/S: matches the served package', async () => {
  const x = await checkIndex('v3.20/main', 'x86_64');
  const a = await checkIndex('v3.20/main', 'aarch64');
  assert.equal(x.description, 'alpine v3.20/main');
  assert.deepEqual(x.records.map((r) => r.get('P')).sort(), ['auto', 'docs', 'hello', 'tool']);
  assert.deepEqual(a.records.map((r) => r.get('P')).sort(), ['docs', 'hello']);
  // the record carries the package's .PKGINFO as apk maps it (docs/formats/apk.md#pkginfo)
  const hello = recordsOf(x, 'hello')[0]!;
  assert.equal(hello.get('V'), '1.0-r0');
  assert.equal(hello.get('I'), '4096');
  assert.equal(hello.get('T'), 'The hello test package');
  assert.equal(hello.get('U'), 'https://example.org/hello');
  assert.equal(hello.get('L'), 'MIT');
  assert.equal(hello.get('o'), 'hello');
  assert.equal(hello.get('t'), '1700000000');
  assert.equal(hello.get('D'), 'musl');
  assert.equal(hello.get('p'), 'cmd:hello=1.0-r0');
  assert.notEqual(hello.get('C'), recordsOf(a, 'hello')[0]!.get('C'), 'two different files, two identities');
  // the branch main has its own indexes; its x86_64 index exists (empty) though only an
  // aarch64 package is there: apk on x86_64 reads an empty index instead of failing on a 404
  const main = await checkIndex('main', 'aarch64');
  assert.deepEqual(versionsOf(main, 'plain'), ['3.1-r2']);
  assert.equal((await checkIndex('main', 'x86_64')).records.length, 0);
  // stored bytes served unchanged: a second fetch is byte-identical; conditional GET works
  const again = await download(`${repoBase()}/v3.20/main/x86_64/APKINDEX.tar.gz`);
  assert.ok(again.bytes.equals(x.bytes));
  const etag = again.headers.get('etag')!;
  assert.equal((await fetch(`${repoBase()}/v3.20/main/x86_64/APKINDEX.tar.gz`, { headers: { 'If-None-Match': etag } })).status, 304);
  // GNU tar reads the served file (it concatenates the members like apk does)
  const file = path.join(srv.dataDir, 'APKINDEX.tar.gz');
  fs.writeFileSync(file, x.bytes);
  const t = spawnSync('tar', ['-tzf', file], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  assert.deepEqual(t.stdout.trim().split('\n'), [`.SIGN.RSA256.${x.signatures[0]!.keyName}`, 'DESCRIPTION', 'APKINDEX']);
});

test('noarch: in both arch indexes with A: rewritten, downloadable from each arch directory and from noarch/', async () => {
  const original = uploaded.get('docs-2.0-r1-noarch')!;
  for (const arch of ['x86_64', 'aarch64']) {
    const idx = await checkIndex('v3.20/main', arch);
    const [rec] = recordsOf(idx, 'docs');
    assert.equal(rec!.get('A'), arch);
    assert.equal(rec!.get('C'), packageChecksum(original));
    const dl = await download(`${repoBase()}/v3.20/main/${arch}/docs-2.0-r1.apk`);
    assert.equal(dl.status, 200);
    assert.ok(dl.bytes.equals(original));
  }
  const direct = await download(`${repoBase()}/v3.20/main/noarch/docs-2.0-r1.apk`);
  assert.ok(direct.bytes.equals(original));
  // an architecture configured in the settings gets an index holding the noarch packages
  const s = await fetch(`${srv.url}/api/repos/apk/${REPO}/settings`, {
    method: 'PATCH',
    headers: { ...auth(), 'Content-Type': 'application/json' },
    body: JSON.stringify({ arches: ['x86_64', 'aarch64', 'armv7'] }),
  });
  assert.equal(s.status, 200, await s.clone().text());
  const armv7 = await checkIndex('v3.20/main', 'armv7');
  assert.deepEqual(armv7.records.map((r) => `${r.get('P')} ${r.get('A')}`), ['docs armv7']);
  assert.ok((await download(`${repoBase()}/v3.20/main/armv7/docs-2.0-r1.apk`)).bytes.equals(original));
  // the noarch file is not served under an arch for a package that is not there
  assert.equal((await fetch(`${repoBase()}/v3.20/main/armv7/hello-1.0-r0.apk`)).status, 404);
});

test('versions: every version listed in apk order, newest by apk order (1.10.0-r0 > 1.10.0_rc1-r0 > 1.2.3-r0)', async () => {
  for (const v of ['1.10.0-r0', '1.2.3-r0', '1.10.0_rc1-r0']) {
    const r = await put(apk('multi', v, 'x86_64'), { provider: 'apk' }, `multi-${v}.apk`);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const idx = await checkIndex('main', 'x86_64');
  assert.deepEqual(versionsOf(idx, 'multi'), ['1.2.3-r0', '1.10.0_rc1-r0', '1.10.0-r0']);
  const api = await getJson(`${srv.url}/api/repos/apk/${REPO}/packages/multi`);
  assert.equal(api.status, 200);
  assert.equal(api.body.latestVersion, '1.10.0-r0');
  assert.deepEqual(api.body.versions.map((v: { version: string }) => v.version), ['1.10.0-r0', '1.10.0_rc1-r0', '1.2.3-r0']);
  // a revision bump and a _p suffix are newer still
  for (const v of ['1.10.0-r1', '1.10.0_p1-r0']) assert.equal((await put(apk('multi', v, 'x86_64'), { provider: 'apk' })).status, 201);
  assert.deepEqual(versionsOf(await checkIndex('main', 'x86_64'), 'multi'), ['1.2.3-r0', '1.10.0_rc1-r0', '1.10.0-r0', '1.10.0-r1', '1.10.0_p1-r0']);
  assert.equal((await getJson(`${srv.url}/api/repos/apk/${REPO}/packages/multi`)).body.latestVersion, '1.10.0_p1-r0');
});

test('duplicate upload: 409, the stored file and the index unchanged', async () => {
  const before = await download(`${repoBase()}/v3.20/main/x86_64/APKINDEX.tar.gz`);
  // same name, version and arch, different bytes (another build)
  const r = await put(buildApk({ pkginfo: pkginfoFor('hello', '1.0-r0', 'x86_64', [['pkgdesc', 'rebuilt']]) }).bytes, { provider: 'apk', branch: 'v3.20/main' });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'version_exists');
  assert.match(String(r.body.error), /already exists/);
  const same = await put(uploaded.get('hello-1.0-r0-x86_64')!, { provider: 'apk', branch: 'v3.20/main' });
  assert.equal(same.status, 409);
  assert.ok((await download(`${repoBase()}/v3.20/main/x86_64/APKINDEX.tar.gz`)).bytes.equals(before.bytes));
  assert.ok((await download(`${repoBase()}/v3.20/main/x86_64/hello-1.0-r0.apk`)).bytes.equals(uploaded.get('hello-1.0-r0-x86_64')!));
  // the same version in another branch is a different file
  assert.equal((await put(uploaded.get('hello-1.0-r0-x86_64')!, { provider: 'apk', branch: 'edge' })).status, 201);
});

test('delete republishes: the version leaves the index and its file is gone; noarch delete leaves every arch index', async () => {
  const del = await fetch(`${srv.url}/api/repos/apk/${REPO}/packages/multi/1.10.0_rc1-r0`, { method: 'DELETE', headers: auth() });
  assert.equal(del.status, 200);
  assert.deepEqual(await del.json(), { deleted: 1 });
  assert.deepEqual(versionsOf(await checkIndex('main', 'x86_64'), 'multi'), ['1.2.3-r0', '1.10.0-r0', '1.10.0-r1', '1.10.0_p1-r0']);
  assert.equal((await fetch(`${repoBase()}/main/x86_64/multi-1.10.0_rc1-r0.apk`)).status, 404);
  const d2 = await fetch(`${srv.url}/api/repos/apk/${REPO}/packages/docs/2.0-r1`, { method: 'DELETE', headers: auth() });
  assert.equal(d2.status, 200);
  for (const arch of ['x86_64', 'aarch64', 'armv7']) assert.deepEqual(versionsOf(await checkIndex('v3.20/main', arch), 'docs'), [], arch);
  assert.equal((await fetch(`${repoBase()}/v3.20/main/aarch64/docs-2.0-r1.apk`)).status, 404);
  // an index with no records is still a valid signed index
  assert.equal((await checkIndex('v3.20/main', 'armv7')).records.length, 0);
});

test('yank: the version leaves the index but its file stays downloadable; unyank brings it back', async () => {
  const url = `${srv.url}/api/repos/apk/${REPO}/packages/multi/1.2.3-r0/yank`;
  const y = await fetch(url, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: 'broken' }) });
  assert.equal(y.status, 200, await y.clone().text());
  assert.deepEqual(versionsOf(await checkIndex('main', 'x86_64'), 'multi'), ['1.10.0-r0', '1.10.0-r1', '1.10.0_p1-r0']);
  assert.ok((await download(`${repoBase()}/main/x86_64/multi-1.2.3-r0.apk`)).bytes.equals(uploaded.get('multi-1.2.3-r0-x86_64')!));
  assert.equal((await fetch(url, { method: 'DELETE', headers: auth() })).status, 200);
  assert.deepEqual(versionsOf(await checkIndex('main', 'x86_64'), 'multi'), ['1.2.3-r0', '1.10.0-r0', '1.10.0-r1', '1.10.0_p1-r0']);
});

test('20 parallel uploads to one branch: all 201, all in one signed index (publishes coalesce)', async () => {
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => put(apk(`par${i}`, `1.${i}-r0`, i % 4 === 0 ? 'noarch' : 'x86_64'), { provider: 'apk', branch: 'v3.20/community' })),
  );
  assert.deepEqual(results.map((r) => r.status), Array(20).fill(201), JSON.stringify(results.filter((r) => r.status !== 201).map((r) => r.body)));
  const x = await checkIndex('v3.20/community', 'x86_64');
  assert.equal(x.records.length, 20);
  const a = await checkIndex('v3.20/community', 'aarch64');
  assert.deepEqual(a.records.map((r) => r.get('P')).sort(), ['par0', 'par12', 'par16', 'par4', 'par8']);
});

test('key rotation (POST /api/repos/apk/<repo>/keys/rotate): two .SIGN entries that both verify, then retire', async () => {
  const [oldName, oldPem] = [...(await servedKeys())][0]!;
  const rot = await fetch(`${srv.url}/api/repos/apk/${REPO}/keys/rotate`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'rsa' }) });
  assert.equal(rot.status, 200, await rot.clone().text());
  const body = (await rot.json()) as { republished: string[] };
  const all = ['aarch64', 'armv7', 'x86_64'];
  assert.deepEqual(body.republished, ['edge', 'main', 'v3.20/community', 'v3.20/main'].flatMap((b) => all.map((a) => `${b}/${a}`)));
  const keys = await servedKeys();
  assert.equal(keys.size, 2);
  const newName = [...keys.keys()].find((k) => k !== oldName)!;
  assert.ok(keys.get(oldName) === oldPem);
  for (const [branch, arch] of [['v3.20/main', 'x86_64'], ['main', 'aarch64'], ['edge', 'x86_64']]) {
    const idx = await checkIndex(branch!, arch!); // verifies every entry with its own served key
    assert.deepEqual(idx.signatures.map((s) => s.entryName), [`.SIGN.RSA256.${oldName}`, `.SIGN.RSA256.${newName}`]);
    // each signature is by its own key only
    assert.equal(opensslVerify(oldPem, idx.signatures[1]!.signature, idx.unsigned).ok, false);
  }
  const ret = await fetch(`${srv.url}/api/repos/apk/${REPO}/keys/rotate`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'rsa', retire: true }) });
  assert.equal(ret.status, 200, await ret.clone().text());
  assert.deepEqual([...(await servedKeys()).keys()], [newName]);
  assert.equal((await fetch(`${repoBase()}/keys/${oldName}`)).status, 404);
  const idx = await checkIndex('v3.20/main', 'x86_64');
  assert.deepEqual(idx.signatures.map((s) => s.keyName), [newName]);
  assert.equal(opensslVerify(oldPem, idx.signatures[0]!.signature, idx.unsigned).ok, false, 'a client holding only the retired key no longer trusts the index');
  // retiring again with a single key is refused
  const again = await fetch(`${srv.url}/api/repos/apk/${REPO}/keys/rotate`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ kind: 'rsa', retire: true }) });
  assert.equal(again.status, 400);
});

/** 300 MiB of zeros in one data file: ~300 KB of gzip, over the 256 MiB decompression floor. */
async function bomb(): Promise<Buffer> {
  const size = 300 << 20;
  const head = Buffer.concat([tarFile('PaxHeader/z', Buffer.from(paxRecord('APK-TOOLS.checksum.SHA1', '0'.repeat(40))), 'x'), ustarHeader('z', size, '0')]);
  async function* tarBytes() {
    yield head;
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < size >> 20; i++) yield zeros;
    yield END_OF_ARCHIVE;
  }
  const parts: Buffer[] = [];
  for await (const c of Readable.from(tarBytes()).pipe(zlib.createGzip({ level: 9 }))) parts.push(c as Buffer);
  const control = gzip(tarFile('.PKGINFO', Buffer.from(pkginfoFor('bomb', '1.0-r0', 'x86_64').map(([k, v]) => `${k} = ${v}\n`).join(''))));
  return Buffer.concat([control, ...parts]);
}

function blobCount(): number {
  const root = path.join(srv.dataDir, 'blobs');
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile()).length;
}

test('bad input end to end: 400 with the reason, nothing stored, the index unchanged', async () => {
  const good = (extra: Array<[string, string]> = []) => pkginfoFor('bad', '1.0-r0', 'x86_64', extra);
  const without = (key: string) => good().filter(([k]) => k !== key);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['not gzip', Buffer.from('this is not a package\n'.repeat(20)), /not gzip-compressed/],
    ['one member (control and data together)', buildApk({ pkginfo: good(), singleMember: true }).bytes, /same gzip member as \.PKGINFO/],
    ['one member (control only)', buildApk({ pkginfo: good() }).control, /fewer than two gzip members/],
    ['no .PKGINFO', Buffer.concat([gzip(tarFile('.post-install', Buffer.from('#!/bin/sh\n'))), gzip(dataTar([{ name: 'f', content: 'x' }]))]), /no \.PKGINFO/],
    ['missing pkgname', buildApk({ pkginfo: without('pkgname') }).bytes, /\.PKGINFO has no pkgname/],
    ['missing pkgver', buildApk({ pkginfo: without('pkgver') }).bytes, /\.PKGINFO has no pkgver/],
    ['missing arch', buildApk({ pkginfo: without('arch') }).bytes, /\.PKGINFO has no arch/],
    ['datahash mismatch', buildApk({ pkginfo: good(), datahash: 'ab'.repeat(32) }).bytes, /datahash mismatch/],
    ['data file without checksum header', buildApk({ pkginfo: good(), files: [{ name: 'usr/bin/bad', content: 'x', noChecksum: true }] }).bytes, /usr\/bin\/bad has no APK-TOOLS\.checksum\.SHA1/],
    ['../ in the data tar', buildApk({ pkginfo: good(), files: [{ name: '../etc/passwd', content: 'x' }] }).bytes, /path traversal/],
    ['decompression bomb', await bomb(), /decompression bomb/],
  ];
  const index = async () => (await download(`${repoBase()}/main/x86_64/APKINDEX.tar.gz`)).bytes;
  const indexBefore = await index();
  const blobsBefore = blobCount();
  for (const [what, bytes, reason] of cases) {
    const r = await put(bytes, { provider: 'apk' }, 'bad-1.0-r0.apk');
    assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'invalid_package', what);
    assert.match(String(r.body.error), reason, what);
  }
  // without provider=: not recognised as any format
  const detect = await put(cases[0]![1], {}, 'bad.apk');
  assert.equal(detect.status, 400);
  assert.match(String(detect.body.error), /could not detect the package format/);
  // a bad branch parameter
  const branch = await put(apk('fine', '1.0-r0', 'x86_64'), { provider: 'apk', branch: '../etc' });
  assert.equal(branch.status, 400);
  assert.match(String(branch.body.error), /branch must be/);
  assert.ok((await index()).equals(indexBefore), 'index unchanged');
  assert.equal(blobCount(), blobsBefore, 'no blob stored');
  assert.equal((await fetch(`${repoBase()}/main/x86_64/bad-1.0-r0.apk`)).status, 404);
  assert.equal((await getJson(`${srv.url}/api/repos/apk/${REPO}/packages/bad`)).status, 404);
  // a rejected first upload does not create the repository
  const fresh = await upload(srv.url, { name: 'x.apk', data: cases[1]![1] }, { provider: 'apk', reponame: 'never-created' });
  assert.equal(fresh.status, 400);
  assert.equal((await getJson(`${srv.url}/api/repos/apk/never-created`, auth())).status, 404);
});

test('private repository: index, packages and keys need a read token, sent as basic auth like apk does for http://user:token@host/', async () => {
  const repo = 'secret';
  const r = await upload(srv.url, { name: 's.apk', data: apk('sec', '1.0-r0', 'noarch') }, { provider: 'apk', reponame: repo });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const p = await fetch(`${srv.url}/api/repos/apk/${repo}/settings`, { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ private: true }) });
  assert.equal(p.status, 200);
  for (const u of ['main/x86_64/APKINDEX.tar.gz', 'main/x86_64/sec-1.0-r0.apk', 'keys/']) {
    const res = await fetch(`${repoBase(repo)}/${u}`);
    assert.equal(res.status, 401, u);
    assert.match(res.headers.get('www-authenticate') ?? '', /Basic/);
  }
  const t = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'alpine-hosts', role: 'read', repoPattern: repo }) });
  assert.equal(t.status, 201);
  const { token } = (await t.json()) as { token: string };
  const basic = { Authorization: `Basic ${Buffer.from(`apk:${token}`).toString('base64')}` };
  const idx = await checkIndex('main', 'x86_64', { repo, headers: basic });
  assert.deepEqual(idx.records.map((x) => x.get('P')), ['sec']);
  // the read token does not open other private repositories' uploads
  const w = await upload(srv.url, { name: 's.apk', data: apk('sec', '1.1-r0', 'noarch') }, { provider: 'apk', reponame: repo }, { token });
  assert.equal(w.status, 403);
});

test('the repository page shows the client setup with the key name and the repositories line', async () => {
  const page = await fetch(`${srv.url}/ui/apk/${REPO}`, { headers: { Accept: 'text/html' } });
  assert.equal(page.status, 200);
  const html = await page.text();
  const [keyName] = [...(await servedKeys()).keys()];
  assert.ok(html.includes(`/etc/apk/keys/${keyName}`), 'wget line for the key');
  assert.ok(html.includes(`${repoBase()}/v3.20/main`), 'repositories line');
});
