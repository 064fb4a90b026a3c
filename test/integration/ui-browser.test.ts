/**
 * Issue 8 in a real browser (Debian's chromium driven by playwright-core; no browser
 * download): home -> search -> repository -> copy a setup snippet (read back from the
 * clipboard) -> package -> dependency link -> download; hostile names and descriptions never
 * execute; the pages work with JavaScript disabled; landmarks, labels, skip link, contrast and
 * a narrow screen. Screenshots go to test-artifacts/ui/ (gitignored).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { startStaticUpstream } from '../helpers/static-upstream';
import { seed, XSS_ATTR, XSS_SCRIPT } from './ui-fixtures';

const ARTIFACTS = path.join(__dirname, '../../test-artifacts/ui');
let srv: TestServer;
let dir: string;
let browser: Browser;

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-browser-'));
  await seed(srv.url, dir);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A page that records dialogs (alert/confirm) and page errors, so a test can assert none happened. */
async function newPage(ctx: BrowserContext): Promise<{ page: Page; dialogs: string[]; errors: string[] }> {
  const page = await ctx.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { page, dialogs, errors };
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

test('browse: home, search, repository, copy snippet, package, dependency, download', async () => {
  const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
  const { page, dialogs, errors } = await newPage(ctx);
  try {
    await page.goto(`${srv.url}/`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Repositories');
    await shot(page, '01-home');

    await page.getByLabel('Search packages').fill('frobnicating');
    await page.getByLabel('Search packages').press('Enter');
    await page.waitForURL(/\/search\?q=frobnicating/);
    const hit = page.getByRole('link', { name: 'libfoo', exact: true });
    assert.equal(await hit.count(), 1);
    await shot(page, '02-search');

    await page.goto(`${srv.url}/`);
    await page.getByRole('link', { name: 'debs', exact: true }).click();
    await page.waitForURL(/\/ui\/apt\/debs$/);
    const copy = page.getByRole('button', { name: 'Copy' }).first();
    assert.ok(await copy.isVisible(), 'the copy button is shown when JavaScript runs');
    const expected = await page.locator('#snippet-1').textContent();
    await copy.click();
    await page.getByRole('button', { name: 'Copied' }).first().waitFor();
    const clipboard = String(await page.evaluate('navigator.clipboard.readText()'));
    assert.ok(expected);
    assert.equal(clipboard, expected);
    assert.match(clipboard, /\/repo\/apt\/debs\/dists\/stable\/install \| sudo bash/);
    assert.equal(await page.getByRole('status').first().textContent(), 'Copied to the clipboard.');
    await shot(page, '03-repository');

    await page.getByRole('link', { name: 'foo-tools', exact: true }).click();
    await page.waitForURL(/\/ui\/apt\/debs\/foo-tools$/);
    await shot(page, '04-package');
    await page.locator('ul.deps').getByRole('link', { name: 'libfoo' }).click();
    await page.waitForURL(/\/ui\/apt\/debs\/libfoo$/);
    assert.match((await page.locator('h1').textContent())!, /libfoo\s+1\.2-1/);
    assert.equal(await page.locator('.description').first().textContent(), 'Foo library for frobnicating');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'libfoo_1.2-1_all.deb' }).click()]);
    assert.equal(download.suggestedFilename(), 'libfoo_1.2-1_all.deb');
    const saved = path.join(dir, 'downloaded.deb');
    await download.saveAs(saved);
    assert.ok(fs.readFileSync(saved).equals(fs.readFileSync(path.join(dir, 'libfoo_1.2-1_all.deb'))), 'downloaded bytes equal the uploaded package');
    await shot(page, '05-dependency');

    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test('hostile names, descriptions and queries never execute', async () => {
  // With credentials: an unknown repository answers an anonymous visitor 401 (like a private one),
  // and the 404 page it shows a reader with a token is the one that echoes the hostile name.
  const ctx = await browser.newContext({ httpCredentials: { username: 'reader', password: ADMIN_TOKEN } });
  const { page, dialogs, errors } = await newPage(ctx);
  try {
    const visits = [
      '/ui/apt/debs',
      '/ui/apt/debs/evil',
      '/ui/pypi/py',
      '/ui/pypi/py/evil-py',
      `/search?q=${encodeURIComponent(XSS_SCRIPT)}`,
      `/search?q=${encodeURIComponent(XSS_ATTR)}`,
      `/?q=${encodeURIComponent(XSS_ATTR)}`,
      `/ui/apt/debs?q=${encodeURIComponent(XSS_ATTR)}`,
      `/ui/apt/${encodeURIComponent(XSS_SCRIPT)}`,
      '/search?q=evil',
    ];
    for (const v of visits) {
      await page.goto(srv.url + v);
      await page.waitForLoadState('load');
      assert.equal(await page.evaluate('window.__xss'), undefined, v);
      assert.equal(await page.locator('img[src="x"]').count(), 0, `${v}: no injected <img>`);
      assert.equal(await page.locator('script:not([src="/static/ui.js"])').count(), 0, `${v}: no injected <script>`);
    }
    await page.goto(`${srv.url}/ui/apt/debs/evil`);
    assert.equal(await page.locator('p.description').textContent(), `evil ${XSS_SCRIPT} ${XSS_ATTR}`);
    await page.goto(`${srv.url}/search?q=${encodeURIComponent(XSS_ATTR)}`);
    assert.equal(await page.getByLabel('Package name or description').inputValue(), XSS_ATTR);
    await shot(page, '06-xss-search');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test('everything works with JavaScript disabled', async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const { page } = await newPage(ctx);
  try {
    await page.goto(`${srv.url}/`);
    await page.getByLabel('Search packages').fill('idna');
    await page.getByLabel('Search packages').press('Enter');
    await page.waitForURL(/\/search\?q=idna/);
    await page.getByRole('link', { name: 'idna-lite', exact: true }).click();
    await page.waitForURL(/\/ui\/pypi\/py\/idna-lite$/);
    await page.getByRole('link', { name: 'py', exact: true }).first().click();
    await page.waitForURL(/\/ui\/pypi\/py$/);
    // Without the script there is nothing to click, but the snippet is there to select.
    assert.equal(await page.getByRole('button', { name: 'Copy' }).count(), 0);
    assert.match((await page.locator('#snippet-1').textContent())!, /^pip install --index-url http:\/\/127\.0\.0\.1:\d+\/repo\/pypi\/py\/simple\//);
    await page.getByLabel('Filter by name or description').fill('evil');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\?q=evil/);
    assert.deepEqual(await page.locator('tbody th a').allTextContents(), ['evil-py']);
    await shot(page, '07-no-javascript');
  } finally {
    await ctx.close();
  }
});

/**
 * WCAG relative luminance contrast of an element's text against its effective background.
 * Built from a string: tsx would wrap inner arrow functions in a helper the page lacks.
 */
const CONTRAST_FN = new Function('el', `
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const ch = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
  const lum = (c) => 0.2126 * ch(c[0]) + 0.7152 * ch(c[1]) + 0.0722 * ch(c[2]);
  let bg = [255, 255, 255];
  for (let n = el; n; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) { bg = c.slice(0, 3); break; }
  }
  const fg = lum(rgb(getComputedStyle(el).color));
  const b = lum(bg);
  return (Math.max(fg, b) + 0.05) / (Math.min(fg, b) + 0.05);
`) as (el: unknown) => number;

async function contrast(page: Page, selector: string): Promise<number> {
  return page.locator(selector).first().evaluate(CONTRAST_FN);
}

test('landmarks, labels, skip link, contrast, and a narrow screen', async () => {
  for (const scheme of ['light', 'dark'] as const) {
    const ctx = await browser.newContext({ colorScheme: scheme, viewport: { width: 1280, height: 900 } });
    const { page } = await newPage(ctx);
    try {
      await page.goto(`${srv.url}/ui/pypi/py/requestz`);
      for (const role of ['banner', 'main', 'contentinfo', 'search'] as const) assert.equal(await page.getByRole(role).count(), 1, role);
      assert.ok((await page.getByRole('navigation').count()) >= 2, 'site and breadcrumb navigation');
      await page.keyboard.press('Tab');
      const focused = page.locator(':focus');
      assert.equal(await focused.textContent(), 'Skip to content');
      assert.ok(((await focused.boundingBox())?.y ?? -1) >= 0, 'the focused skip link is on screen');
      for (const sel of ['h1', 'a[href="/ui/pypi/py"]', '.muted', 'code.hash', 'thead th', 'header.site a.brand', 'footer.site']) {
        const ratio = await contrast(page, sel);
        assert.ok(ratio >= 4.5, `${scheme}: ${sel} contrast ${ratio.toFixed(2)} < 4.5`);
      }
      await page.goto(`${srv.url}/ui/apt/debs`);
      for (const sel of ['.desc', 'button.copy', 'pre code', 'figcaption']) {
        const ratio = await contrast(page, sel);
        assert.ok(ratio >= 4.5, `${scheme}: ${sel} contrast ${ratio.toFixed(2)} < 4.5`);
      }
      for (const input of await page.locator('input:not([type="hidden"])').all()) {
        const id = await input.getAttribute('id');
        assert.equal(await page.locator(`label[for="${id}"]`).count(), 1, `input #${id} has a label`);
      }
      await shot(page, `08-repository-${scheme}`);
    } finally {
      await ctx.close();
    }
  }
  // A remote repository's page too: a long upstream path and URL in its cached-files table.
  const upDir = fs.mkdtempSync(path.join(dir, 'upstream-'));
  const deep = 'releases/very-long-directory-name-without-breaks/and-another-one';
  fs.mkdirSync(path.join(upDir, deep), { recursive: true });
  fs.writeFileSync(path.join(upDir, deep, 'a-rather-long-tarball-name-1.2.3-linux-x86_64.tar.gz'), 'bytes');
  const upstream = await startStaticUpstream(upDir);
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const { page } = await newPage(phone);
  try {
    const put = await fetch(`${srv.url}/api/repos/tar/mirror`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'remote', upstream: `${upstream.url}/` }) });
    assert.equal(put.status, 201);
    assert.equal((await fetch(`${srv.url}/repo/tar/mirror/${deep}/a-rather-long-tarball-name-1.2.3-linux-x86_64.tar.gz`)).status, 200);
    const pages: [string, string][] = [['home', '/'], ['repository', '/ui/apt/debs'], ['package', '/ui/apt/debs/foo-tools'], ['search', '/search?q=o'], ['remote', '/ui/tar/mirror']];
    for (const [name, p] of pages) {
      await page.goto(srv.url + p);
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
      assert.ok(overflow <= 0, `${p} scrolls sideways by ${overflow}px on a 360px screen`);
      await shot(page, `09-phone-${name}`);
    }
  } finally {
    await phone.close();
    await upstream.stop();
  }
});
