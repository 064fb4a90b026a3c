/**
 * Issue 17 in a real browser (Debian's chromium driven by playwright-core): sign in, upload a
 * .deb and a wheel through the upload page (with JavaScript: progress per file) and install
 * them with the real apt-get and pip, yank and delete through the pages and see the indexes
 * change, create a token in the page and use it with curl, a cross-site form post from a page
 * of another origin fails, sign out. Screenshots at 360 and 1280 px go to test-artifacts/ui/.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { aptClient, bytes, runCommand, WARN_OR_ERROR } from './apt-tools';
import { makeVenv, pip } from './pypi-tools';
import { makeDeb, makeWheel } from './ui-fixtures';
import { upload } from '../helpers/http';

const ARTIFACTS = path.join(__dirname, '../../test-artifacts/ui');
let srv: TestServer;
let dir: string;
let browser: Browser;
let evil: http.Server;
let evilUrl: string;

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-manage-'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  // Another origin (another port) with a page that posts a form to the server, as an attacker's site would.
  evil = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><form id="f" method="post" action="${srv.url}/tokens"><input name="name" value="pwned"><input name="role" value="admin"><button>go</button></form>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
});
after(async () => {
  await browser?.close();
  evil?.close();
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const shot = async (page: Page, name: string) => {
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(ARTIFACTS, `manage-${name}-${width}.png`), fullPage: true });
  }
};

async function signInPage(page: Page, token: string): Promise<void> {
  await page.goto(`${srv.url}/signin`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${srv.url}/`);
}

test('empty state, sign in, upload a .deb and a wheel, install them with apt-get and pip', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${srv.url}/`);
    const empty = page.locator('.empty-state');
    assert.match((await empty.textContent())!, /No repositories yet/);
    assert.equal(await page.locator('#start-install').textContent(), `curl -fsSL ${srv.url}/rpcli/install.sh | sh`);
    assert.match((await page.locator('#start-curl').textContent())!, new RegExp(`${srv.url}/addpkg\\?reponame=myrepo`));
    assert.equal(await page.getByRole('link', { name: 'create one on the Tokens page' }).getAttribute('href'), '/tokens');
    await shot(page, 'home-empty');

    await signInPage(page, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Upload', exact: true }).click();
    await page.waitForURL(/\/upload$/);
    await shot(page, 'upload');
    const deb = makeDeb(dir, { name: 'browser-hello', version: '1.0-1', description: 'Uploaded in the browser' });
    const whl = makeWheel(dir, { name: 'browser-pkg', version: '0.3.0', summary: 'A wheel from the browser' });
    const broken = path.join(dir, 'broken.whl');
    fs.writeFileSync(broken, 'not a zip');

    await page.getByLabel('Repository').fill('browser-debs');
    await page.getByLabel('Package files').setInputFiles([deb, broken]);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('.upload-summary').waitFor();
    const rows = page.locator('.upload-row');
    assert.equal(await rows.count(), 2);
    assert.match((await rows.nth(0).textContent())!, /stored as browser-hello 1\.0-1 in apt\/browser-debs/);
    assert.match((await rows.nth(1).locator('.file-error').textContent())!, /400/);
    assert.equal(await page.locator('ol.upload-progress').getAttribute('aria-live'), 'polite');
    assert.equal(await rows.nth(0).locator('progress').evaluate((p) => (p as unknown as { value: number; max: number }).value === (p as unknown as { max: number }).max), true, 'the progress bar is full');
    await shot(page, 'upload-done');

    await page.getByLabel('Repository').fill('browser-py');
    await page.getByLabel('Package files').setInputFiles([whl]);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('.upload-summary').waitFor();
    assert.match((await page.locator('.upload-row').first().textContent())!, /stored as browser-pkg 0\.3\.0 in pypi\/browser-py/);

    // The real clients install what the page uploaded.
    const repoUrl = `${srv.url}/repo/apt/browser-debs`;
    const apt = aptClient({ keyring: await bytes(`${repoUrl}/keyring.gpg`), sources: `deb [signed-by=KEYRING] ${repoUrl} stable main\n` });
    const u = await apt.update();
    assert.equal(u.code, 0, u.out);
    assert.doesNotMatch(u.out, WARN_OR_ERROR, u.out);
    const sim = await apt.run('apt-get', ['install', '-s', '-y', 'browser-hello=1.0-1']);
    assert.equal(sim.code, 0, sim.out);
    assert.match(sim.out, /Inst browser-hello \(1\.0-1 /);
    const dl = await apt.run('apt-get', ['download', 'browser-hello=1.0-1'], apt.dlDir);
    assert.equal(dl.code, 0, dl.out);
    assert.ok(fs.readFileSync(path.join(apt.dlDir, 'browser-hello_1.0-1_all.deb')).equals(fs.readFileSync(deb)));
    const python = await makeVenv(path.join(dir, 'venv'));
    // The install command the package page shows is the one pip runs.
    await page.goto(`${srv.url}/ui/pypi/browser-py/browser-pkg`);
    const cmd = (await page.locator('#v-0-install-1').textContent())!;
    assert.equal(cmd, `pip install --index-url ${srv.url}/repo/pypi/browser-py/simple/ browser-pkg==0.3.0`);
    const installed = await pip(python, 'install', cmd.split(' ').slice(2), path.join(dir, 'home'));
    assert.equal(installed.code, 0, installed.out);
    const version = await runCommand(python, ['-c', 'import browser_pkg; print(browser_pkg.VERSION)']);
    assert.equal(version.out.trim(), '0.3.0');
    await shot(page, 'package');
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test('yank and delete through the pages change the index; without JavaScript too', async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  try {
    await signInPage(page, ADMIN_TOKEN);
    const deb2 = makeDeb(dir, { name: 'browser-hello', version: '2.0-1', description: 'Second version' });
    // No JavaScript: the form posts the file itself and answers with a result page.
    await page.goto(`${srv.url}/upload?reponame=browser-debs`);
    await page.getByLabel('Package files').setInputFiles([deb2]);
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/\/upload$/);
    assert.match((await page.locator('.upload-results').textContent())!, /stored as browser-hello 2\.0-1/);

    const packages = () => fetch(`${srv.url}/repo/apt/browser-debs/dists/stable/main/binary-amd64/Packages`).then((r) => r.text());
    assert.match(await packages(), /^Version: 2\.0-1$/m);
    await page.goto(`${srv.url}/ui/apt/browser-debs/browser-hello`);
    await page.getByRole('link', { name: 'Yank 2.0-1…' }).click();
    await page.getByLabel('Reason (optional, shown to clients)').fill('broken build');
    await shot(page, 'confirm-yank');
    await page.getByRole('button', { name: 'Yank this version' }).click();
    await page.waitForURL(/notice=yanked/);
    assert.match((await page.getByRole('status').first().textContent())!, /yanked/);
    assert.doesNotMatch(await packages(), /^Version: 2\.0-1$/m, 'the yanked version left the index');
    assert.match(await packages(), /^Version: 1\.0-1$/m);

    await page.getByRole('link', { name: 'Delete 1.0-1…' }).click();
    await page.getByRole('button', { name: 'Delete this version' }).click();
    await page.waitForURL(/notice=deleted/);
    assert.doesNotMatch(await packages(), /^Package: browser-hello$/m, 'deleted, and the other version is yanked: none left in the index');
    await shot(page, 'package-after-delete');
  } finally {
    await ctx.close();
  }
});

test('a token created in the page works with curl; a cross-site form post fails; sign out', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
  const page = await ctx.newPage();
  try {
    await signInPage(page, ADMIN_TOKEN);
    await page.getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.getByLabel('Name').fill('curl-reader');
    await page.getByLabel('Role').selectOption('read');
    await page.getByLabel('Repositories').fill('browser-*');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = (await page.locator('#new-token').textContent())!;
    assert.match(token, /^ad_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), token);
    await shot(page, 'tokens');
    const curl = await runCommand('curl', ['-fsS', '-u', `x:${token}`, `${srv.url}/api/repos/apt/browser-debs/status`]);
    assert.equal(curl.code, 0, curl.out);
    assert.equal(JSON.parse(curl.out).repo, 'browser-debs');

    const before = (await srv.services.tokens.list()).length;
    await page.goto(evilUrl);
    const [answer] = await Promise.all([page.waitForResponse(`${srv.url}/tokens`), page.locator('#f button').click()]);
    assert.equal(answer.status(), 403);
    assert.match(await answer.text(), /cross-site request refused/);
    assert.equal((await srv.services.tokens.list()).length, before, 'the cross-site post created no token');

    await page.goto(`${srv.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${srv.url}/`);
    assert.equal(await page.getByRole('link', { name: 'Sign in' }).count(), 1);
    assert.equal(await page.getByRole('link', { name: 'Tokens', exact: true }).count(), 0);
    const cookies = await ctx.cookies(srv.url);
    assert.equal(cookies.find((c) => c.name === 'artifactd_session'), undefined);
  } finally {
    await ctx.close();
  }
});

test('a read-only token sees no write buttons, and a post made from its page gets 403 anyway', async () => {
  const deb = makeDeb(dir, { name: 'ro-pkg', version: '1.0-1', description: 'Read only here' });
  assert.equal((await upload(srv.url, deb, { reponame: 'browser-ro' })).status, 201);
  const made = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'browser-reader', role: 'read' }) });
  const reader = ((await made.json()) as { token: string }).token;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  try {
    await signInPage(page, reader);
    assert.equal(await page.getByRole('link', { name: 'Upload', exact: true }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Tokens', exact: true }).count(), 0);
    await page.goto(`${srv.url}/ui/apt/browser-ro/ro-pkg`);
    assert.equal(await page.getByRole('heading', { level: 1 }).filter({ hasText: 'ro-pkg' }).count(), 1, 'the package page is readable');
    assert.equal(await page.getByRole('link', { name: /Yank|Delete/ }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /Yank|Delete|Rotate|Save/ }).count(), 0);
    await page.goto(`${srv.url}/ui/apt/browser-ro`);
    assert.equal(await page.getByRole('link', { name: /Settings|Upload to/ }).count(), 0);
    await shot(page, 'read-only-repo');
    // A hand-made post with the session's own CSRF token, as a curious user would try from the console.
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    assert.ok(csrf, 'the page carries the session CSRF token (sign-out form)');
    const status = await page.evaluate(async ([url, token]) => {
      const r = await fetch(`${url}/ui/apt/browser-ro/-/delete`, { method: 'POST', body: new URLSearchParams({ _csrf: token, name: 'ro-pkg', version: '1.0-1' }) });
      return r.status;
    }, [srv.url, csrf] as const);
    assert.equal(status, 403);
    const packages = await (await fetch(`${srv.url}/repo/apt/browser-ro/dists/stable/main/binary-amd64/Packages`)).text();
    assert.match(packages, /^Package: ro-pkg$/m, 'nothing was deleted');
  } finally {
    await ctx.close();
  }
});
