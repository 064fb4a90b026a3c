/**
 * Issue 3 end to end, upload side: POST /addpkg with the format detected from the bytes,
 * request name/version checked against the metadata, every kind of bad input refused with
 * 400 and a reason while nothing is stored, and a burst of parallel uploads into one project
 * coalescing into few publishes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { getJson, upload } from '../helpers/http';
import { makeSdist, makeTarGz, makeWheel, makeZip, metadataText, tmpDir, type Member } from '../unit/pypi/helpers';
import { parseLogs, twine } from './pypi-tools';

const REPO = 'uploads';
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';
const logLines: string[] = [];
const dir = tmpDir();
let srv: TestServer;
let repoUrl: string;
/**
 * Every fixture is built before the server starts: building one blocks this process (the
 * server's too), and a keep-alive connection idle past its timeout meanwhile would be closed
 * under the next request (ECONNRESET in the client, not a server answer).
 */
let fx: ReturnType<typeof fixtures>;

before(async () => {
  fx = fixtures();
  srv = await startServer({ logLines });
  repoUrl = `${srv.url}/repo/pypi/${REPO}`;
});
after(async () => {
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function blobCount(): number {
  const root = path.join(srv.dataDir, 'blobs');
  if (!fs.existsSync(root)) return 0;
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile()).length;
}

async function page(project: string): Promise<{ status: number; files: string[] }> {
  const r = await fetch(`${repoUrl}/${project}/`, { headers: { Accept: JSON_TYPE } });
  if (r.status !== 200) return { status: r.status, files: [] };
  return { status: 200, files: ((await r.json()) as { files: { filename: string }[] }).files.map((f) => f.filename) };
}

/** A fresh directory per fixture, so two fixtures may share a file name. */
function fresh(): string {
  return fs.mkdtempSync(path.join(dir, 'f-'));
}

function fixtures() {
  const burstDir = fresh();
  return {
    autoWheel: makeWheel(fresh(), 'Auto.Detect-1.0-py3-none-any.whl', metadataText('Auto.Detect', '1.0')),
    autoSdist: makeSdist(fresh(), 'auto_detect-1.0.tar.gz', metadataText('auto-detect', '1.0')),
    autoZipSdist: makeSdist(fresh(), 'auto_detect-1.1.zip', metadataText('auto_detect', '1.1')),
    autoAgain: makeWheel(fresh(), 'auto_detect-1.2-py3-none-any.whl', metadataText('auto_detect', '1.2')),
    claimed: makeWheel(fresh(), 'claimed-1.0-py3-none-any.whl', metadataText('claimed', '1.0')),
    good: makeWheel(fresh(), 'good-1.0-py3-none-any.whl', metadataText('good', '1.0')),
    bad: badCases(),
    burst: Array.from({ length: 30 }, (_, i) => makeWheel(burstDir, `burst-1.${i}-py3-none-any.whl`, metadataText('burst', `1.${i}`))),
    twineHome: fresh(),
  };
}

test('/addpkg without provider= detects wheels and sdists by their bytes', async () => {
  let r = await upload(srv.url, fx.autoWheel, { reponame: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.provider, 'pypi');
  assert.equal(r.body.name, 'Auto.Detect');
  assert.equal(r.body.path, 'files/auto-detect/Auto.Detect-1.0-py3-none-any.whl');
  assert.equal(r.body.url, `${repoUrl}/files/auto-detect/Auto.Detect-1.0-py3-none-any.whl`);
  r = await upload(srv.url, fx.autoSdist, { reponame: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.provider, 'pypi');
  r = await upload(srv.url, fx.autoZipSdist, { reponame: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual((await page('auto-detect')).files, ['Auto.Detect-1.0-py3-none-any.whl', 'auto_detect-1.0.tar.gz', 'auto_detect-1.1.zip']);
  // A name that only differs in normalization is the same project.
  r = await upload(srv.url, fx.autoAgain, { reponame: REPO, name: 'AUTO-detect', version: '1.2' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});

test('/addpkg with name or version that disagree with the metadata: 400, nothing stored', async () => {
  const blobs = blobCount();
  const whl = fx.claimed;
  let r = await upload(srv.url, whl, { provider: 'pypi', reponame: REPO, name: 'other' });
  assert.equal(r.status, 400);
  assert.match(String(r.body.error), /name "other" in the request does not match the package's own name "claimed"/);
  r = await upload(srv.url, whl, { reponame: REPO, version: '2.0' });
  assert.equal(r.status, 400);
  assert.match(String(r.body.error), /version "2\.0" in the request does not match the package's own version "1\.0"/);
  assert.equal((await page('claimed')).status, 404);
  assert.equal(blobCount(), blobs);
});

interface BadCase {
  what: string;
  file: string;
  /** Project whose page must stay as it was. */
  project: string;
  error: RegExp;
}

function badCases(): BadCase[] {
  const wheelFiles = (dist: string, meta: string | null, extra: Member[] = []): Member[] => [
    { name: 'pkg/__init__.py', text: '' },
    ...(meta === null ? [] : [{ name: `${dist}.dist-info/METADATA`, text: meta }]),
    { name: `${dist}.dist-info/WHEEL`, text: 'Wheel-Version: 1.0\nTag: py3-none-any\n' },
    { name: `${dist}.dist-info/RECORD`, text: '' },
    ...extra,
  ];
  const d = fresh();
  const notZip = path.join(d, 'notzip-1.0-py3-none-any.whl');
  fs.writeFileSync(notZip, 'this is not a zip archive at all');
  return [
    { what: 'a .whl that is not a zip', file: notZip, project: 'notzip', error: /"notzip-1\.0-py3-none-any\.whl" is not a zip archive, so it is not a wheel/ },
    {
      what: 'a zip that is not a wheel',
      file: makeZip(path.join(d, 'plainzip-1.0-py3-none-any.whl'), [{ name: 'plainzip/__init__.py', text: '' }, { name: 'README', text: 'hi' }]),
      project: 'plainzip',
      error: /is not a wheel: it has no top-level \*\.dist-info directory/,
    },
    {
      what: 'a wheel without METADATA',
      file: makeZip(path.join(d, 'nometa-1.0-py3-none-any.whl'), wheelFiles('nometa-1.0', null)),
      project: 'nometa',
      error: /has no nometa-1\.0\.dist-info\/METADATA/,
    },
    {
      what: 'METADATA without Name',
      file: makeZip(path.join(d, 'noname-1.0-py3-none-any.whl'), wheelFiles('noname-1.0', 'Metadata-Version: 2.1\nVersion: 1.0\n')),
      project: 'noname',
      error: /METADATA has no Name field/,
    },
    {
      what: 'METADATA without Version',
      file: makeZip(path.join(d, 'noversion-1.0-py3-none-any.whl'), wheelFiles('noversion-1.0', 'Metadata-Version: 2.1\nName: noversion\n')),
      project: 'noversion',
      error: /METADATA has no Version field/,
    },
    {
      what: 'file name and metadata name differ',
      file: makeWheel(d, 'good-2.0-py3-none-any.whl', metadataText('evil', '2.0'), { distInfo: 'good-2.0.dist-info' }),
      project: 'good',
      error: /project name in file name "good-2\.0-py3-none-any\.whl" \("good", normalized "good"\) differs from METADATA Name "evil"/,
    },
    {
      what: 'file name and metadata version differ',
      file: makeWheel(fresh(), 'good-2.0-py3-none-any.whl', metadataText('good', '2.1')),
      project: 'good',
      error: /version in file name "good-2\.0-py3-none-any\.whl" \("2\.0"\) differs from METADATA Version "2\.1"/,
    },
    {
      what: 'sdist name and PKG-INFO differ',
      file: makeSdist(d, 'good-3.0.tar.gz', metadataText('good', '3.1')),
      project: 'good',
      error: /version in file name "good-3\.0\.tar\.gz" \("3\.0"\) differs from PKG-INFO Version "3\.1"/,
    },
    {
      what: 'a zip bomb (ratio above 50, over 64 MiB expanded)',
      file: makeWheel(d, 'bomb-1.0-py3-none-any.whl', metadataText('bomb', '1.0'), { extra: [{ name: 'bomb/zeros.bin', zeros: 80 << 20 }] }),
      project: 'bomb',
      error: /expands to \d+ bytes from \d+ \(compression ratio above 50; zip bomb\?\)/,
    },
    {
      what: 'a zip member lying about its size',
      file: makeZip(path.join(d, 'liar-1.0-py3-none-any.whl'), wheelFiles('liar-1.0', metadataText('liar', '1.0'), [{ name: 'liar/x.bin', zeros: 1000 }]), { name: 'liar/x.bin', uncompressedSize: 3_000_000_000 }),
      project: 'liar',
      error: /claims 3000000000 bytes from \d+ compressed \(impossible ratio; zip bomb\?\)/,
    },
    {
      what: 'a gzip bomb sdist',
      file: makeSdist(d, 'gzbomb-1.0.tar.gz', metadataText('gzbomb', '1.0'), [{ name: 'zeros.bin', zeros: 80 << 20 }]),
      project: 'gzbomb',
      error: /expands beyond \d+ bytes \(decompression bomb\?\)/,
    },
    {
      what: 'path traversal in a wheel',
      file: makeZip(path.join(d, 'trav-1.0-py3-none-any.whl'), wheelFiles('trav-1.0', metadataText('trav', '1.0'), [{ name: '../../etc/evil.py', text: 'x' }])),
      project: 'trav',
      // yauzl's own name check answers first
      error: /invalid relative path: \.\.\/\.\.\/etc\/evil\.py/,
    },
    {
      what: 'path traversal in an sdist',
      file: makeTarGz(path.join(d, 'travsd-1.0.tar.gz'), [{ name: 'travsd-1.0/PKG-INFO', text: metadataText('travsd', '1.0') }, { name: 'travsd-1.0/../../evil.py', text: 'x' }]),
      project: 'travsd',
      error: /path traversal "travsd-1\.0\/\.\.\/\.\.\/evil\.py" in archive/,
    },
    {
      what: 'an sdist symlink leaving its directory',
      file: makeTarGz(path.join(d, 'linksd-1.0.tar.gz'), [{ name: 'linksd-1.0/PKG-INFO', text: metadataText('linksd', '1.0') }, { name: 'linksd-1.0/passwd', type: 'symlink', linkname: '../../etc/passwd' }]),
      project: 'linksd',
      error: /link "linksd-1\.0\/passwd" points outside "linksd-1\.0\/"/,
    },
    {
      what: 'an sdist without PKG-INFO',
      file: makeTarGz(path.join(d, 'nopkginfo-1.0.tar.gz'), [{ name: 'nopkginfo-1.0/setup.py', text: '' }]),
      project: 'nopkginfo',
      error: /has no PKG-INFO in its top-level directory "nopkginfo-1\.0\/"/,
    },
    {
      what: 'an sdist whose PKG-INFO lies outside the single top directory',
      file: makeTarGz(path.join(d, 'outside-1.0.tar.gz'), [{ name: 'outside-1.0/setup.py', text: '' }, { name: 'PKG-INFO', text: metadataText('outside', '1.0') }]),
      project: 'outside',
      error: /"PKG-INFO" lies outside the single top-level directory an sdist must have/,
    },
    {
      what: 'an sdist with two top directories',
      file: makeTarGz(path.join(d, 'twotop-1.0.tar.gz'), [{ name: 'twotop-1.0/PKG-INFO', text: metadataText('twotop', '1.0') }, { name: 'other-1.0/PKG-INFO', text: metadataText('twotop', '1.0') }]),
      project: 'twotop',
      error: /more than one top-level directory \("twotop-1\.0" and "other-1\.0"\)/,
    },
  ];
}

test('bad inputs end to end: 400 with the reason, nothing stored, pages unchanged', async () => {
  // An earlier good file of `good`: its page must keep listing exactly that one.
  assert.equal((await upload(srv.url, fx.good, { reponame: REPO })).status, 201);
  const cases = fx.bad;
  const blobs = blobCount();
  for (const c of cases) {
    const r = await upload(srv.url, c.file, { provider: 'pypi', reponame: REPO });
    assert.equal(r.status, 400, `${c.what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'invalid_package', c.what);
    assert.match(String(r.body.error), c.error, c.what);
    const p = await page(c.project);
    if (c.project === 'good') assert.deepEqual(p.files, ['good-1.0-py3-none-any.whl'], c.what);
    else assert.equal(p.status, 404, `${c.what}: the project must not exist`);
    if (c.project !== 'good') assert.equal((await getJson(`${srv.url}/api/repos/pypi/${REPO}/packages/${c.project}`)).status, 404, c.what);
  }
  assert.equal(blobCount(), blobs, 'no blob stored by a refused upload');
  // A bad file through twine: twine reports the 400 and exits non-zero; still nothing stored.
  const home = fx.twineHome;
  const mismatch = cases.find((c) => c.what === 'file name and metadata version differ')!;
  const t = await twine(`${repoUrl}/legacy/`, ADMIN_TOKEN, [mismatch.file], home);
  assert.notEqual(t.code, 0, t.out);
  assert.match(t.out, /400 Bad Request/);
  assert.deepEqual((await page('good')).files, ['good-1.0-py3-none-any.whl']);
  assert.equal(blobCount(), blobs);
});

test('30 parallel uploads into one project: all listed, publishes coalesced', async () => {
  const wheels = fx.burst;
  const start = logLines.length;
  const results = await Promise.all(wheels.map((w) => upload(srv.url, w, { reponame: REPO })));
  assert.deepEqual(results.map((r) => r.status), Array(30).fill(201), JSON.stringify(results.filter((r) => r.status !== 201).map((r) => r.body)));
  // Every 201 came after its file was in the published page, so the page now lists all 30.
  const p = await page('burst');
  assert.equal(p.files.length, 30);
  assert.deepEqual(p.files, Array.from({ length: 30 }, (_, i) => `burst-1.${i}-py3-none-any.whl`));
  const publishes = parseLogs(logLines.slice(start)).filter((l) => l.msg === 'publish' && l.scope === 'project/burst');
  assert.ok(publishes.length >= 1);
  assert.ok(publishes.length <= 20, `${publishes.length} publishes of project/burst for 30 uploads`);
  // The root scope (project list) coalesces too.
  const roots = parseLogs(logLines.slice(start)).filter((l) => l.msg === 'publish' && l.scope === 'root');
  assert.ok(roots.length <= 20, `${roots.length} publishes of root for 30 uploads`);
  console.log(`# 30 parallel uploads: ${publishes.length} publishes of project/burst, ${roots.length} of root`);
});
