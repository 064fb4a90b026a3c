/**
 * Issue 17 at the HTTP level: signing in (cookie flags, the stored hash), what a session may
 * do (reads, CSRF-checked forms only), refusals (cross-site posts, missing or wrong CSRF
 * tokens, read-only tokens), revocation and sign-out, the settings form's validation and the
 * upload form's per-file results. The browser flows are in ui-manage-browser.test.ts.
 * Runs on MariaDB too (TEST_DB=mysql).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SessionEntity } from '../../src/db/entities';
import { sha256Hex } from '../../src/util/hash';
import { upload } from '../helpers/http';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { signIn } from '../helpers/ui-session';
import { checkAptDist } from '../helpers/apt-check';
import { makeDeb } from './ui-fixtures';
import { buildApk, pkginfoFor } from '../unit/apk/apk-builder';
import { makepkg } from '../unit/pacman/helpers';
import { packagerKey, pacmanSkip, readDb } from './pacman-tools';

let srv: TestServer;
let dir: string;
let deb: string;

const sessionRows = () => srv.services.db.manager.getRepository(SessionEntity).find();

/** A token made through the API, for the roles the tests need. */
async function apiToken(name: string, role: string, repoPattern = '*'): Promise<string> {
  const r = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, role, repoPattern }) });
  assert.equal(r.status, 201);
  return ((await r.json()) as { token: string }).token;
}

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-session-'));
  deb = makeDeb(dir, { name: 'hello', version: '1.0-1', description: 'Greets the world' });
  const r = await upload(srv.url, deb, { reponame: 'debs' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});
after(async () => {
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('signing in', () => {
  test('the cookie is HttpOnly, SameSite=Strict, bounded, and the database keeps only its hash', async () => {
    const s = await signIn(srv.url, ADMIN_TOKEN);
    const attrs = s.setCookie.split(';').map((a) => a.trim());
    assert.ok(attrs.includes('HttpOnly'), s.setCookie);
    assert.ok(attrs.includes('SameSite=Strict'), s.setCookie);
    assert.ok(attrs.includes('Path=/'), s.setCookie);
    assert.ok(!attrs.includes('Secure'), 'plain http without an https BASE_URL: no Secure (the browser would drop the cookie)');
    const maxAge = Number(attrs.find((a) => a.startsWith('Max-Age='))?.slice(8));
    assert.ok(maxAge > 0 && maxAge <= 12 * 3600, `Max-Age ${maxAge}`);
    const id = s.cookie.split('=')[1];
    const rows = await sessionRows();
    assert.ok(rows.some((r) => r.sessionHash === sha256Hex(id)), 'the row is found by the hash of the id');
    assert.ok(!JSON.stringify(rows).includes(id), 'the session id itself is stored nowhere');
    assert.match((await s.get('/')).html, /Signed in as <strong>admin<\/strong>/);
  });

  test('Secure when BASE_URL is https, or when a loopback proxy says the request was https', async () => {
    const tls = await startServer({ env: { BASE_URL: 'https://packages.example.test' } });
    try {
      const r = await fetch(`${tls.url}/signin`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN }), redirect: 'manual', headers: { origin: 'https://packages.example.test' } });
      assert.equal(r.status, 303);
      assert.match(r.headers.get('set-cookie')!, /; Secure(;|$)/);
    } finally {
      await tls.stop();
    }
    const r = await fetch(`${srv.url}/signin`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN }), redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(r.status, 303);
    assert.match(r.headers.get('set-cookie')!, /; Secure(;|$)/);
  });

  test('a wrong token is refused with the reason, and no session is made', async () => {
    const before = (await sessionRows()).length;
    const r = await fetch(`${srv.url}/signin`, { method: 'POST', body: new URLSearchParams({ token: 'not-a-token' }), redirect: 'manual' });
    assert.equal(r.status, 401);
    assert.match(await r.text(), /That token does not work: invalid or revoked token/);
    assert.equal(r.headers.get('set-cookie'), null);
    assert.equal((await sessionRows()).length, before);
  });

  test('a sign-in posted from another site is refused; next= never leaves the site', async () => {
    const cross = await fetch(`${srv.url}/signin`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN }), redirect: 'manual', headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } });
    assert.equal(cross.status, 403);
    assert.equal(cross.headers.get('set-cookie'), null);
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const r = await fetch(`${srv.url}/signin`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN, next }), redirect: 'manual' });
      assert.equal(r.headers.get('location'), '/', next);
    }
    const ok = await fetch(`${srv.url}/signin`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN, next: '/ui/apt/debs' }), redirect: 'manual' });
    assert.equal(ok.headers.get('location'), '/ui/apt/debs');
  });
});

describe('what a session may do', () => {
  test('a private repository is browsable with a read token session; basic auth keeps working', async () => {
    const repo = (await srv.services.repos.find('apt', 'debs'))!;
    await srv.services.repos.updateSettings(repo, { private: true });
    try {
      assert.equal((await fetch(`${srv.url}/ui/apt/debs`)).status, 401);
      const reader = await signIn(srv.url, await apiToken('debs-reader', 'read', 'debs'));
      const page = await reader.get('/ui/apt/debs/hello');
      assert.equal(page.status, 200);
      assert.match(page.html, /sudo apt-get install hello=1\.0-1/);
      // The download link of the page works with the same cookie.
      const file = await fetch(`${srv.url}/repo/apt/debs/pool/main/h/hello/hello_1.0-1_all.deb`, { headers: { cookie: reader.cookie } });
      assert.equal(file.status, 200);
      assert.ok(Buffer.from(await file.arrayBuffer()).equals(fs.readFileSync(deb)));
      const basic = await fetch(`${srv.url}/repo/apt/debs/dists/stable/InRelease`, { headers: { authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString('base64')}` } });
      assert.equal(basic.status, 200);
    } finally {
      await srv.services.repos.updateSettings((await srv.services.repos.find('apt', 'debs'))!, { private: null });
    }
  });

  test('the cookie alone never authorizes a write: not the JSON API, not /addpkg, not a form without its CSRF token', async () => {
    const admin = await signIn(srv.url, ADMIN_TOKEN);
    const count = async () => (await srv.services.tokens.list()).length;
    const n = await count();
    const api = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { cookie: admin.cookie, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', role: 'admin' }) });
    assert.equal(api.status, 401);
    const form = new FormData();
    form.append('f', await fs.openAsBlob(deb), 'hello_1.0-1_all.deb');
    const add = await fetch(`${srv.url}/addpkg?reponame=other`, { method: 'POST', headers: { cookie: admin.cookie }, body: form });
    assert.equal(add.status, 401);

    const missing = await fetch(`${srv.url}/tokens`, { method: 'POST', redirect: 'manual', headers: { cookie: admin.cookie, origin: srv.url }, body: new URLSearchParams({ name: 'x', role: 'admin' }) });
    assert.equal(missing.status, 403);
    assert.match(await missing.text(), /CSRF token/);
    const wrong = await admin.post('/tokens', { name: 'x', role: 'admin', _csrf: 'A'.repeat(43) });
    assert.equal(wrong.status, 403);
    const crossOrigin = await admin.post('/tokens', { name: 'x', role: 'admin' }, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(crossOrigin.status, 403);
    assert.match(await crossOrigin.text(), /cross-site request refused/);
    const sameSiteOtherOrigin = await admin.post('/tokens', { name: 'x', role: 'admin' }, { origin: 'http://127.0.0.2:1', 'sec-fetch-site': 'same-site' });
    assert.equal(sameSiteOtherOrigin.status, 403);
    const otherSession = await signIn(srv.url, ADMIN_TOKEN);
    const stolenToken = await fetch(`${srv.url}/tokens`, { method: 'POST', redirect: 'manual', headers: { cookie: admin.cookie, origin: srv.url }, body: new URLSearchParams({ name: 'x', role: 'admin', _csrf: await otherSession.csrf() }) });
    assert.equal(stolenToken.status, 403, "another session's CSRF token does not work");
    assert.equal(await count(), n, 'no token was created by any refused post');

    const good = await admin.post('/tokens', { name: 'made-in-ui', role: 'write', repoPattern: 'debs' });
    assert.equal(good.status, 201);
    const html = await good.text();
    const secret = /<code id="new-token">(ad_[A-Za-z0-9_-]+)<\/code>/.exec(html)?.[1];
    assert.ok(secret, 'the new token is shown once');
    assert.equal((await fetch(`${srv.url}/api/repos/apt/debs/status`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);
    assert.doesNotMatch((await admin.get('/tokens')).html, new RegExp(secret), 'and never again');
  });

  test('a read-only token sees no write buttons, and a post gets 403 anyway', async () => {
    const reader = await signIn(srv.url, await apiToken('reader', 'read'));
    const home = (await reader.get('/')).html;
    assert.doesNotMatch(home, /href="\/upload"/);
    assert.doesNotMatch(home, /href="\/tokens"/);
    const repo = (await reader.get('/ui/apt/debs')).html;
    assert.doesNotMatch(repo, /Upload to debs|\/-\/settings/);
    const pkg = (await reader.get('/ui/apt/debs/hello')).html;
    assert.doesNotMatch(pkg, /Yank|Delete/);
    assert.equal((await reader.get('/ui/apt/debs/-/settings')).status, 403);

    const del = await reader.post('/ui/apt/debs/-/delete', { name: 'hello', version: '1.0-1' });
    assert.equal(del.status, 403);
    assert.match(await del.text(), /has role read; this needs admin/);
    const yank = await reader.post('/ui/apt/debs/-/yank', { name: 'hello', version: '1.0-1', action: 'yank' });
    assert.equal(yank.status, 403);
    const tokens = await reader.post('/tokens', { name: 'y', role: 'admin' });
    assert.equal(tokens.status, 403);
    const form = new FormData();
    form.append('_csrf', await reader.csrf());
    form.append('reponame', 'debs');
    form.append('f', await fs.openAsBlob(deb), 'hello_1.0-1_all.deb');
    const up = await fetch(`${srv.url}/upload`, { method: 'POST', body: form, headers: { cookie: reader.cookie, origin: srv.url } });
    assert.equal(up.status, 403);
    assert.equal((await srv.services.catalog.filesOf((await srv.services.repos.find('apt', 'debs'))!, 'hello')).length, 1, 'nothing changed');

    // A write token limited to other repositories: the same, for this one.
    const writer = await signIn(srv.url, await apiToken('team-writer', 'write', 'team-*'));
    assert.doesNotMatch((await writer.get('/ui/apt/debs/hello')).html, /Yank/);
    assert.equal((await writer.post('/ui/apt/debs/-/yank', { name: 'hello', version: '1.0-1', action: 'yank' })).status, 403);
  });

  test('revoking the token ends its sessions; signing out ends the session', async () => {
    const admin = await signIn(srv.url, ADMIN_TOKEN);
    const secret = await apiToken('short-lived', 'read');
    const user = await signIn(srv.url, secret);
    assert.match((await user.get('/')).html, /Signed in as <strong>short-lived/);
    const id = (await srv.services.tokens.list()).find((t) => t.name === 'short-lived')!.id;
    const revoke = await admin.post(`/tokens/${id}/revoke`, {});
    assert.equal(revoke.status, 303);
    const after = await user.get('/');
    assert.doesNotMatch(after.html, /Signed in as/);
    assert.match(after.html, /href="\/signin"/);
    assert.ok(!(await sessionRows()).some((r) => r.sessionHash === sha256Hex(user.cookie.split('=')[1])), 'the session row is gone');

    const out = await admin.post('/signout', {});
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie')!, /artifactd_session=; Path=\/; Max-Age=0/);
    assert.doesNotMatch((await admin.get('/')).html, /Signed in as/, 'the old cookie no longer signs in');
    assert.equal((await admin.get('/tokens')).status, 303, 'the token page sends a signed-out visitor to sign in');
  });
});

describe('forms', () => {
  test('settings: validated by the API schema (nothing stored on error), saved and shown', async () => {
    const admin = await signIn(srv.url, ADMIN_TOKEN);
    const bad = await admin.post('/ui/apt/debs/-/settings', { keep: 'many', arches: 'amd64 arm64' });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /invalid settings: keep: Invalid input: expected number/);
    assert.deepEqual((await srv.services.repos.find('apt', 'debs'))!.settings, {});
    const ok = await admin.post('/ui/apt/debs/-/settings', { keep: '3', private: 'false', arches: 'amd64, armhf', description: 'Team debs' });
    assert.equal(ok.status, 303);
    assert.deepEqual((await srv.services.repos.find('apt', 'debs'))!.settings, { keep: 3, private: false, arches: ['amd64', 'armhf'], description: 'Team debs' });
    const release = await (await fetch(`${srv.url}/repo/apt/debs/dists/stable/Release`)).text();
    assert.match(release, /^Architectures: .*armhf/m, 'an index setting republished the indexes');
    const cleared = await admin.post('/ui/apt/debs/-/settings', { keep: '', private: '', arches: '', description: '' });
    assert.equal(cleared.status, 303);
    assert.deepEqual((await srv.services.repos.find('apt', 'debs'))!.settings, {});
  });

  test('upload form: each file gets the result /addpkg would give, without and with JavaScript', async () => {
    const admin = await signIn(srv.url, ADMIN_TOKEN);
    const garbage = path.join(dir, 'broken_1.0_all.deb');
    fs.writeFileSync(garbage, '!<arch>\nnot really a deb');
    const good = makeDeb(dir, { name: 'formpkg', version: '2.0-1', description: 'Came through the form' });
    const api = await upload(srv.url, garbage, { reponame: 'formrepo', provider: 'apt' });
    assert.equal(api.status, 400);

    const form = new FormData();
    form.append('_csrf', await admin.csrf());
    form.append('reponame', 'formrepo');
    form.append('provider', 'apt');
    form.append('dist', 'bookworm');
    form.append('component', '');
    form.append('f', await fs.openAsBlob(good), path.basename(good));
    form.append('f', await fs.openAsBlob(garbage), path.basename(garbage));
    const r = await fetch(`${srv.url}/upload`, { method: 'POST', body: form, headers: { cookie: admin.cookie, origin: srv.url } });
    assert.equal(r.status, 400);
    const html = await r.text();
    assert.match(html, /formpkg_2\.0-1_all\.deb<\/strong>:\s*stored as <a href="\/ui\/apt\/formrepo\/formpkg">formpkg 2\.0-1<\/a>/);
    const shownError = /broken_1\.0_all\.deb<\/strong>:\s*<span class="file-error">([^<]+)<\/span>/.exec(html)?.[1];
    assert.equal(shownError?.replaceAll('&quot;', '"').replaceAll('&#39;', "'"), api.body.error, 'the same error as the API, next to the file');
    const packages = await (await fetch(`${srv.url}/repo/apt/formrepo/dists/bookworm/main/binary-amd64/Packages`)).text();
    assert.match(packages, /^Package: formpkg$/m, 'dist from the form, component defaulted when left empty');

    // ui.js sends one file per request with Accept: application/json and gets the API's JSON.
    const one = new FormData();
    one.append('reponame', 'formrepo');
    one.append('f', await fs.openAsBlob(garbage), path.basename(garbage));
    const js = await fetch(`${srv.url}/upload`, { method: 'POST', body: one, headers: { cookie: admin.cookie, origin: srv.url, accept: 'application/json', 'x-csrf-token': await admin.csrf() } });
    assert.equal(js.status, 400);
    const detected = await upload(srv.url, garbage, { reponame: 'formrepo' });
    assert.deepEqual(await js.json(), detected.body);
  });

  test('upload form: an apk into a branch, and a pacman package with its packager signature', { skip: pacmanSkip }, async () => {
    const admin = await signIn(srv.url, ADMIN_TOKEN);
    const form = (await admin.get('/upload')).html;
    assert.match(form, /name="branch"/, 'apk branch field (from the provider)');
    assert.match(form, /type="file"[^>]*name="sig"|name="sig"[^>]*type="file"/, 'pacman signature file field (from the provider)');
    const post = async (fields: Record<string, string>, files: Record<string, string>) => {
      const body = new FormData();
      body.append('_csrf', await admin.csrf());
      for (const [k, v] of Object.entries(fields)) body.append(k, v);
      for (const [k, f] of Object.entries(files)) body.append(k, await fs.openAsBlob(f), path.basename(f));
      return fetch(`${srv.url}/upload`, { method: 'POST', body, headers: { cookie: admin.cookie, origin: srv.url } });
    };

    const apk = path.join(dir, 'formapk-1.2-r0.apk');
    fs.writeFileSync(apk, buildApk({ pkginfo: pkginfoFor('formapk', '1.2-r0', 'x86_64') }).bytes);
    const a = await post({ reponame: 'formapks', provider: 'apk', branch: 'v3.20/community' }, { f: apk });
    assert.equal(a.status, 201, await a.clone().text());
    assert.match(await a.text(), /formapk-1\.2-r0\.apk<\/strong>:\s*stored as/);
    const index = await fetch(`${srv.url}/repo/apk/formapks/v3.20/community/x86_64/APKINDEX.tar.gz`);
    assert.equal(index.status, 200, 'the branch from the form has its index');
    assert.equal((await fetch(`${srv.url}/repo/apk/formapks/v3.20/community/x86_64/formapk-1.2-r0.apk`)).status, 200);

    const packager = packagerKey(dir);
    try {
      const pkg = makepkg({ name: 'formpac', pkgver: '1.0' }, dir);
      const sig = packager.sign(pkg);
      const p = await post({ reponame: 'formpacs', provider: 'pacman' }, { f: pkg, sig: `${pkg}.sig` });
      assert.equal(p.status, 201, await p.clone().text());
      const served = Buffer.from(await (await fetch(`${srv.url}/repo/pacman/formpacs/x86_64/${path.basename(pkg)}.sig`)).arrayBuffer());
      assert.ok(served.equals(sig), 'the packager signature from the form is served byte for byte');
      const db = await readDb(Buffer.from(await (await fetch(`${srv.url}/repo/pacman/formpacs/x86_64/formpacs.db`)).arrayBuffer()));
      assert.match(db.get('formpac-1.0-1')!.desc, new RegExp(`%PGPSIG%\\n${sig.toString('base64').replace(/[+/]/g, '\\$&')}\\n`));
    } finally {
      packager.close();
    }
  });

  test('signing keys: a reader sees them, only an admin rotates, and the index is signed again with the new key', async () => {
    const repo = (await srv.services.repos.find('apt', 'debs'))!;
    const activeOpenPgp = async () => (await srv.services.keys.list(repo.id)).filter((k) => k.active && k.kind === 'openpgp');
    const [old] = await activeOpenPgp();
    assert.ok(old, 'the first publish made an OpenPGP key');
    const oldKeyring = path.join(dir, 'old-keyring.gpg');
    fs.writeFileSync(oldKeyring, Buffer.from(await (await fetch(`${srv.url}/repo/apt/debs/keyring.gpg`)).arrayBuffer()));

    const reader = await signIn(srv.url, await apiToken('key-reader', 'read'));
    const seen = await reader.get('/ui/apt/debs/-/keys');
    assert.equal(seen.status, 200);
    assert.ok(seen.html.includes(old.fingerprint), 'the active key is listed');
    assert.doesNotMatch(seen.html, /Rotate the/, 'no rotate button for a read token');
    assert.equal((await reader.post('/ui/apt/debs/-/keys/rotate', { kind: 'openpgp' })).status, 403);
    assert.equal((await activeOpenPgp())[0].fingerprint, old.fingerprint, 'the refused post changed nothing');

    const admin = await signIn(srv.url, ADMIN_TOKEN);
    assert.match((await admin.get('/ui/apt/debs/-/keys')).html, /Rotate the openpgp key/);
    const rotated = await admin.post('/ui/apt/debs/-/keys/rotate', { kind: 'openpgp' });
    assert.equal(rotated.status, 303);
    assert.equal(rotated.headers.get('location'), '/ui/apt/debs/-/keys?notice=rotated');
    const [now] = await activeOpenPgp();
    assert.notEqual(now.fingerprint, old.fingerprint);
    const page = (await admin.get('/ui/apt/debs/-/keys?notice=rotated')).html;
    assert.ok(page.includes(now.fingerprint) && page.includes(old.fingerprint), 'both keys are listed');
    assert.match(page, /retired/);
    // The served keyring verifies the new InRelease; the old key alone no longer does.
    assert.deepEqual((await checkAptDist(`${srv.url}/repo/apt/debs`, 'stable')).packages, ['hello 1.0-1 all']);
    const inRelease = path.join(dir, 'InRelease');
    fs.writeFileSync(inRelease, Buffer.from(await (await fetch(`${srv.url}/repo/apt/debs/dists/stable/InRelease`)).arrayBuffer()));
    assert.throws(() => execFileSync('gpgv', ['--keyring', oldKeyring, inRelease], { stdio: 'pipe' }), 'signed with the new key only');
  });

  test('delete and yank through the confirmation forms change the index', async () => {
    const admin = await signIn(srv.url, ADMIN_TOKEN);
    const confirm = await admin.get('/ui/apt/debs/-/confirm?action=delete&name=hello&version=1.0-1');
    assert.equal(confirm.status, 200);
    assert.match(confirm.html, /<form class="stacked narrow" action="\/ui\/apt\/debs\/-\/delete" method="post">/);
    const packages = () => fetch(`${srv.url}/repo/apt/debs/dists/stable/main/binary-amd64/Packages`).then((r) => r.text());
    assert.match(await packages(), /^Package: hello$/m);
    assert.equal((await admin.post('/ui/apt/debs/-/yank', { name: 'hello', version: '1.0-1', action: 'yank', reason: 'broken' })).status, 303);
    assert.doesNotMatch(await packages(), /^Package: hello$/m, 'apt yank takes the file out of the index');
    assert.match((await admin.get('/ui/apt/debs/hello')).html, /Un-yank 1\.0-1/);
    assert.equal((await admin.post('/ui/apt/debs/-/yank', { name: 'hello', version: '1.0-1', action: 'unyank' })).status, 303);
    assert.match(await packages(), /^Package: hello$/m);
    const del = await admin.post('/ui/apt/debs/-/delete', { name: 'hello', version: '1.0-1' });
    assert.equal(del.status, 303);
    assert.equal(del.headers.get('location'), '/ui/apt/debs?notice=deleted');
    assert.doesNotMatch(await packages(), /^Package: hello$/m);
    assert.match((await admin.get('/ui/apt/debs?notice=deleted')).html, /The version was deleted/);
  });
});
