/**
 * Issue 3 end to end: Debian's twine uploads to the real server over HTTP, the real pip
 * (fresh venvs, isolated from the host's pip configuration) installs from it, including a
 * dependency that lives in the same repository, skips a yanked version unless pinned,
 * downloads an sdist, and uses the JSON API and the PEP 658 `.metadata` files.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { auth, getJson } from '../helpers/http';
import { makeSdist, makeWheel, metadataText, tmpDir } from '../unit/pypi/helpers';
import { inTreeBackend, makeVenv, parseLogs, pip, requestsFor, run, twine, type RunResult } from './pypi-tools';

const REPO = 'pyrepo';
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';
const logLines: string[] = [];
const dir = tmpDir();
const home = path.join(dir, 'home');
let srv: TestServer;
let repoUrl: string;

const META = {
  depWheel1: metadataText('Dep.Lib', '1.0', 'Summary: a dependency\n', 'The long description.\n'),
  depWheel2: metadataText('Dep.Lib', '2.0', 'Summary: a dependency, broken\n'),
  app: metadataText('My_App', '0.1', 'Summary: the app\nRequires-Dist: dep.lib>=1\nRequires-Python: >=3.7\n'),
};
const files = {
  depWheel1: '',
  depWheel2: '',
  depSdist: '',
  appWheel: '',
  appSdist: '',
};

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed:\n${r.out}`);
}

before(async () => {
  fs.mkdirSync(home);
  srv = await startServer({ logLines });
  repoUrl = `${srv.url}/repo/pypi/${REPO}`;
  // Wheels with an importable package; the sdist has an in-tree backend so pip can use it offline.
  files.depWheel1 = makeWheel(dir, 'dep_lib-1.0-py3-none-any.whl', META.depWheel1);
  const d2 = fs.mkdtempSync(path.join(dir, 'w2-'));
  files.depWheel2 = makeWheel(d2, 'dep_lib-2.0-py3-none-any.whl', META.depWheel2);
  // Metadata 2.2 without Dynamic: its PKG-INFO is served as `.metadata` too.
  const pkgInfo22 = metadataText('dep-lib', '1.0', 'Summary: a dependency\n').replace('Metadata-Version: 2.1', 'Metadata-Version: 2.2');
  files.depSdist = makeSdist(dir, 'dep_lib-1.0.tar.gz', pkgInfo22, inTreeBackend('dep_lib', '1.0', 'dep_lib'));
  files.appWheel = makeWheel(dir, 'my_app-0.1-py3-none-any.whl', META.app);
  files.appSdist = makeSdist(dir, 'my_app-0.1.tar.gz', META.app, inTreeBackend('my_app', '0.1', 'my_app'));
});
after(async () => {
  await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function projectJson(name: string, base = repoUrl): Promise<any> {
  const r = await fetch(`${base}/${name}/`, { headers: { Accept: JSON_TYPE } });
  assert.equal(r.status, 200, `${name}: ${r.status}`);
  assert.equal(r.headers.get('content-type'), JSON_TYPE);
  return r.json();
}

test('twine uploads wheels and sdists through /legacy/, / and /legacy (no redirect)', async () => {
  ok(await twine(`${repoUrl}/legacy/`, ADMIN_TOKEN, [files.depWheel1], home), 'twine to /legacy/');
  ok(await twine(`${repoUrl}/`, ADMIN_TOKEN, [files.depWheel2], home), 'twine to /');
  ok(await twine(`${repoUrl}/legacy`, ADMIN_TOKEN, [files.appWheel, files.appSdist], home), 'twine to /legacy');
  // The upload POSTs were answered directly (twine would stop at a redirect).
  for (const p of [`/repo/pypi/${REPO}/legacy/`, `/repo/pypi/${REPO}/`, `/repo/pypi/${REPO}/legacy`]) {
    const posts = requestsFor(logLines, p).filter((l) => l.method === 'POST');
    assert.ok(posts.length >= 1 && posts.every((l) => l.status === 201), `${p}: ${JSON.stringify(posts)}`);
  }
  // The Metadata-Version 2.2 sdist, whose PKG-INFO is served as `.metadata`.
  ok(await twine(`${repoUrl}/legacy/`, ADMIN_TOKEN, [files.depSdist], home), 'twine sdist 2.2');

  const dep = await projectJson('dep-lib');
  assert.deepEqual(dep.files.map((f: { filename: string }) => f.filename), ['dep_lib-1.0-py3-none-any.whl', 'dep_lib-1.0.tar.gz', 'dep_lib-2.0-py3-none-any.whl']);
  assert.deepEqual(dep.versions, ['1.0', '2.0']);
  const app = await projectJson('my-app');
  assert.deepEqual(app.files.map((f: { filename: string }) => f.filename), ['my_app-0.1-py3-none-any.whl', 'my_app-0.1.tar.gz']);
  assert.equal(app.files[0]['requires-python'], '>=3.7');
  // The 2.1 sdist's PKG-INFO is not advertised as metadata (PyPI: only 2.2+ without Dynamic).
  assert.equal(app.files[1]['core-metadata'], false);
  for (const f of [...dep.files, ...app.files]) {
    const bytes = fs.readFileSync(Object.values(files).find((p) => path.basename(p) === f.filename)!);
    assert.equal(f.hashes.sha256, crypto.createHash('sha256').update(bytes).digest('hex'));
    assert.equal(f.size, bytes.length);
  }
});

test('twine --skip-existing skips a duplicate (exit 0); without it the duplicate fails with 409', async () => {
  const skip = await twine(`${repoUrl}/legacy/`, ADMIN_TOKEN, [files.appWheel], home, ['--skip-existing']);
  ok(skip, 'twine --skip-existing');
  assert.match(skip.out.replace(/\s+/g, ' '), /Skipping my_app-0\.1-py3-none-any\.whl because it appears to already exist/);
  const dup = await twine(`${repoUrl}/legacy/`, ADMIN_TOKEN, [files.appWheel], home);
  assert.notEqual(dup.code, 0, dup.out);
  assert.match(dup.out, /409 Conflict/);
  // A read token cannot upload; a wrong token is refused.
  const tok = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'reader', role: 'read' }) });
  const reader = ((await tok.json()) as { token: string }).token;
  const ro = await twine(`${repoUrl}/legacy/`, reader, [files.depSdist], home);
  assert.notEqual(ro.code, 0);
  assert.match(ro.out, /403 Forbidden/);
  const bad = await twine(`${repoUrl}/legacy/`, 'not-a-valid-token-000000', [files.depSdist], home);
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /401|Unauthorized|Invalid or non-existent authentication/i);
});

test('yank through the API: the HTML page shows data-yanked with the reason, JSON "yanked": reason', async () => {
  const r = await fetch(`${srv.url}/api/repos/pypi/${REPO}/packages/dep-lib/2.0/yank`, {
    method: 'POST',
    headers: { ...auth(), 'Content-Type': 'application/json' },
    body: JSON.stringify({ reason: 'broken "release" <2.0>' }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  assert.deepEqual(await r.json(), { yanked: 1 });
  const dep = await projectJson('dep-lib');
  const y = dep.files.find((f: { filename: string }) => f.filename === 'dep_lib-2.0-py3-none-any.whl');
  assert.equal(y.yanked, 'broken "release" <2.0>');
  assert.ok(dep.files.filter((f: { yanked: unknown }) => f !== y).every((f: { yanked: unknown }) => f.yanked === false));
  const html = await (await fetch(`${repoUrl}/simple/dep-lib/`, { headers: { Accept: 'text/html' } })).text();
  assert.match(html, /<a href="[^"]*dep_lib-2\.0-py3-none-any\.whl#sha256=[0-9a-f]{64}"[^>]* data-yanked="broken &quot;release&quot; &lt;2\.0&gt;">dep_lib-2\.0-py3-none-any\.whl<\/a>/);
  assert.doesNotMatch(html.split('\n').find((l) => l.includes('>dep_lib-1.0-py3-none-any.whl<'))!, /data-yanked/);
});

test('pip (fresh venv, -i <repo>/) installs my-app with its dependency from the repo, skipping the yanked 2.0, via JSON and .metadata', async () => {
  const python = await makeVenv(path.join(dir, 'venv1'));
  const before = logLines.length;
  // -vv: pip logs the Content-Type of each index page it reads at debug level.
  const r = await pip(python, 'install', ['-vv', '--index-url', `${repoUrl}/`, 'My.App'], home);
  ok(r, 'pip install');
  const show = await pip(python, 'list', ['--format=json']);
  const installed = Object.fromEntries((JSON.parse(show.out.trim().split('\n').pop()!) as { name: string; version: string }[]).map((p) => [p.name.toLowerCase(), p.version]));
  assert.equal(installed['my-app'] ?? installed.my_app, '0.1');
  assert.equal(installed['dep-lib'] ?? installed['dep.lib'], '1.0', 'the yanked 2.0 is skipped');
  // pip asked for the JSON serialisation and got it...
  assert.match(r.out, new RegExp(`Fetched page ${repoUrl}/my-app/ as application/vnd\\.pypi\\.simple\\.v1\\+json`));
  // ...and read each dependency's metadata from the PEP 658 file, not from the wheel.
  assert.match(r.out, /Obtaining dependency information for dep\.lib>=1 from .*\/dep_lib-1\.0-py3-none-any\.whl\.metadata/);
  const mine = logLines.slice(before);
  const page = requestsFor(mine, `/repo/pypi/${REPO}/my-app/`);
  const jsonPage = await (await fetch(`${repoUrl}/my-app/`, { headers: { Accept: JSON_TYPE } })).arrayBuffer();
  assert.ok(page.length >= 1 && page.every((l) => l.status === 200 && l.bytes === jsonPage.byteLength), 'the access log shows the JSON page was sent');
  for (const f of ['my-app/my_app-0.1-py3-none-any.whl.metadata', 'dep-lib/dep_lib-1.0-py3-none-any.whl.metadata']) {
    assert.ok(requestsFor(mine, `/repo/pypi/${REPO}/files/${f}`).some((l) => l.status === 200), `${f} fetched`);
  }
  assert.equal(requestsFor(mine, `/repo/pypi/${REPO}/files/dep-lib/dep_lib-2.0-py3-none-any.whl`).length, 0, 'yanked wheel not downloaded');
  assert.equal((await run(python, ['-c', 'import dep_lib, my_app; print(dep_lib.VERSION, my_app.VERSION)'])).out, '1.0 0.1\n');
  const failed = parseLogs(mine).filter((l) => l.msg === 'request' && Number(l.status) >= 400);
  assert.deepEqual(failed, [], 'no request of the install failed');
});

test('pip (fresh venv, -i <repo>/simple/) installs the same; pinning the yanked ==2.0 installs it', async () => {
  const python = await makeVenv(path.join(dir, 'venv2'));
  ok(await pip(python, 'install', ['--index-url', `${repoUrl}/simple/`, 'my-app'], home), 'pip install via /simple/');
  const pinned = await pip(python, 'install', ['--index-url', `${repoUrl}/simple/`, 'dep-lib==2.0'], home);
  ok(pinned, 'pip install dep-lib==2.0');
  assert.match(pinned.out, /yanked.*Reason for being yanked: broken "release" <2\.0>/is);
  assert.equal((await run(python, ['-c', 'import dep_lib, my_app; print(dep_lib.VERSION)'])).out, '2.0\n');
  // Not pinned exactly: the yanked version is not chosen.
  const range = await pip(python, 'download', ['--no-deps', '-d', path.join(dir, 'range'), '--index-url', `${repoUrl}/simple/`, 'dep-lib>=1.5'], home);
  assert.notEqual(range.code, 0, range.out);
  assert.match(range.out, /No matching distribution found for dep-lib>=1\.5/);
});

test('pip download --no-binary :all: fetches the sdist byte for byte (its 2.2 metadata via .metadata)', async () => {
  const out = path.join(dir, 'dl');
  const before = logLines.length;
  const r = await pip('python3', 'download', ['--no-deps', '--no-binary', ':all:', '-d', out, '--index-url', `${repoUrl}/`, 'dep-lib'], home);
  ok(r, 'pip download');
  assert.deepEqual(fs.readdirSync(out), ['dep_lib-1.0.tar.gz']);
  assert.ok(fs.readFileSync(path.join(out, 'dep_lib-1.0.tar.gz')).equals(fs.readFileSync(files.depSdist)));
  assert.ok(requestsFor(logLines.slice(before), `/repo/pypi/${REPO}/files/dep-lib/dep_lib-1.0.tar.gz.metadata`).some((l) => l.status === 200));
});

test('.metadata files are the wheel METADATA byte for byte, with the advertised hash', async () => {
  for (const [project, filename, meta] of [['dep-lib', 'dep_lib-1.0-py3-none-any.whl', META.depWheel1], ['my-app', 'my_app-0.1-py3-none-any.whl', META.app]] as const) {
    const page = await projectJson(project);
    const f = page.files.find((x: { filename: string }) => x.filename === filename);
    const r = await fetch(new URL(`${f.url}.metadata`, srv.url));
    assert.equal(r.status, 200);
    const bytes = Buffer.from(await r.arrayBuffer());
    assert.ok(bytes.equals(Buffer.from(meta)), `${filename}.metadata differs`);
    assert.deepEqual(f['core-metadata'], { sha256: crypto.createHash('sha256').update(bytes).digest('hex') });
    assert.equal('dist-info-metadata' in f, false, 'never the old key in JSON (PEP 714)');
    const html = await (await fetch(`${repoUrl}/${project}/`, { headers: { Accept: 'text/html' } })).text();
    assert.match(html, new RegExp(`data-dist-info-metadata="sha256=${f['core-metadata'].sha256}" data-core-metadata="sha256=${f['core-metadata'].sha256}"[^>]*>${filename.replace(/\./g, '\\.')}<`));
  }
  // The sdist's 2.2 PKG-INFO, likewise.
  const dep = await projectJson('dep-lib');
  const sd = dep.files.find((x: { filename: string }) => x.filename === 'dep_lib-1.0.tar.gz');
  const md = Buffer.from(await (await fetch(new URL(`${sd.url}.metadata`, srv.url))).arrayBuffer());
  assert.match(md.toString(), /^Metadata-Version: 2\.2\nName: dep-lib\nVersion: 1\.0\n/);
});

test('GET: non-normalized names and slash-less URLs redirect; the root lists the projects', async () => {
  const loc = async (p: string, method = 'GET') => {
    const r = await fetch(`${repoUrl}/${p}`, { redirect: 'manual', method });
    return [r.status, r.headers.get('location')];
  };
  assert.deepEqual(await loc('Dep.Lib/'), [301, `/repo/pypi/${REPO}/dep-lib/`]);
  assert.deepEqual(await loc('dep-lib'), [301, `/repo/pypi/${REPO}/dep-lib/`]);
  assert.deepEqual(await loc('DEP_LIB'), [301, `/repo/pypi/${REPO}/dep-lib/`]);
  assert.deepEqual(await loc('simple/My_App'), [301, `/repo/pypi/${REPO}/simple/my-app/`]);
  assert.deepEqual(await loc('simple'), [301, `/repo/pypi/${REPO}/simple/`]);
  assert.deepEqual(await loc('Dep.Lib/', 'HEAD'), [301, `/repo/pypi/${REPO}/dep-lib/`]);
  // pip follows the redirect of a non-normalized index page
  const r = await fetch(`${repoUrl}/Dep.Lib/`, { headers: { Accept: JSON_TYPE } });
  assert.equal(r.status, 200);
  assert.equal(((await r.json()) as { name: string }).name, 'dep-lib');
  const root = await fetch(`${repoUrl}/`, { headers: { Accept: JSON_TYPE } });
  assert.equal(root.headers.get('vary'), 'Accept');
  assert.deepEqual(await root.json(), { meta: { 'api-version': '1.1' }, projects: [{ name: 'dep-lib' }, { name: 'my-app' }] });
  const rootHtml = await (await fetch(`${repoUrl}/simple/`)).text();
  assert.match(rootHtml, /<a href="dep-lib\/">dep-lib<\/a><br \/>\n\s*<a href="my-app\/">my-app<\/a>/);
  const missing = await fetch(`${repoUrl}/no-such-project/`, { headers: { Accept: JSON_TYPE } });
  assert.equal(missing.status, 404);
});

test('a private repository: pip needs a read token (basic auth in the index URL)', async () => {
  const s = await fetch(`${srv.url}/api/repos/pypi/${REPO}/settings`, { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ private: true }) });
  assert.equal(s.status, 200);
  const tok = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'pip-reader', role: 'read', repoPattern: REPO }) });
  const reader = ((await tok.json()) as { token: string }).token;
  const before = logLines.length;
  const anon = await pip('python3', 'download', ['--no-deps', '-d', path.join(dir, 'priv0'), '--index-url', `${repoUrl}/simple/`, 'my-app'], home);
  assert.notEqual(anon.code, 0, anon.out);
  assert.match(anon.out, /No matching distribution found for my-app/);
  assert.deepEqual(requestsFor(logLines.slice(before), `/repo/pypi/${REPO}/simple/my-app/`).map((l) => l.status), [401]);
  const withToken = `${repoUrl.replace('://', `://__token__:${reader}@`)}/simple/`;
  const r = await pip('python3', 'download', ['-d', path.join(dir, 'priv'), '--only-binary', ':all:', '--index-url', withToken, 'my-app'], home);
  ok(r, 'pip download with a read token');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'priv')).sort(), ['dep_lib-1.0-py3-none-any.whl', 'my_app-0.1-py3-none-any.whl']);
  // The same token from ~/.netrc, the index URL without credentials.
  const netrcHome = path.join(dir, 'netrc-home');
  fs.mkdirSync(netrcHome);
  fs.writeFileSync(path.join(netrcHome, '.netrc'), `machine 127.0.0.1\nlogin __token__\npassword ${reader}\n`, { mode: 0o600 });
  const n = await pip('python3', 'download', ['--no-deps', '-d', path.join(dir, 'priv-netrc'), '--index-url', `${repoUrl}/simple/`, 'my-app'], netrcHome);
  ok(n, 'pip download with ~/.netrc');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'priv-netrc')), ['my_app-0.1-py3-none-any.whl']);
  const api = await getJson(`${srv.url}/api/repos/pypi/${REPO}/packages`);
  assert.equal(api.status, 401);
});
