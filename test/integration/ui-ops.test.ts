/**
 * Issue 17, the operations pages: /webhooks (create in the page with a generated secret, a
 * real upload then reaches a real receiver on 127.0.0.1 with a valid signature, test ping,
 * deliveries and redeliver, change, delete behind a confirmation page) and /audit (newest
 * first, filters, SQL paging), who may see them (admin over every repository only), CSRF,
 * and the retention rules on the repository settings page. HTTP level, like
 * ui-session.test.ts, then a short part in a real browser (Debian's chromium driven by
 * playwright-core, like ui-manage-browser.test.ts): create with the keyboard-reachable form,
 * copy the secret, ping, delete, filter the audit log without JavaScript, nothing scrolls
 * sideways at 360 px. Screenshots go to test-artifacts/ui/. Runs on MariaDB too (TEST_DB=mysql).
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EVENT_TYPES } from '../../src/core/events';
import { HTML_CSP } from '../../src/http/ui/render';
import { upload } from '../helpers/http';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { signIn, type UiSession } from '../helpers/ui-session';
import { startReceiver, verifySignature, type WebhookReceiver } from '../helpers/webhook-receiver';
import { makeDeb } from './ui-fixtures';

let srv: TestServer;
let rx: WebhookReceiver;
let dir: string;
let admin: UiSession;
let hookId: number;
let secret: string;
let browser: Browser;
const ARTIFACTS = path.join(__dirname, '../../test-artifacts/ui');

async function apiToken(name: string, role: string, repoPattern = '*'): Promise<string> {
  const r = await fetch(`${srv.url}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, role, repoPattern }) });
  assert.equal(r.status, 201);
  return ((await r.json()) as { token: string }).token;
}

/** A form post whose fields may repeat (checkboxes), with the session's CSRF token. */
async function postForm(s: UiSession, path: string, fields: [string, string][], csrf?: string): Promise<Response> {
  const body = new URLSearchParams([['_csrf', csrf ?? (await s.csrf())], ...fields]);
  return fetch(srv.url + path, { method: 'POST', body, redirect: 'manual', headers: { cookie: s.cookie, origin: srv.url, 'sec-fetch-site': 'same-origin' } });
}

/** Reload a page until `re` shows on it (deliveries finish in the background). */
async function pageUntil(s: UiSession, path: string, re: RegExp, ms = 15_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { status, html } = await s.get(path);
    assert.equal(status, 200);
    if (re.test(html)) return html;
    if (Date.now() > deadline) throw new Error(`${path} never showed ${re}:\n${html}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const rowsOf = (html: string) => (/<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '').split('<tr>').slice(1);

before(async () => {
  rx = await startReceiver();
  srv = await startServer({ env: { WEBHOOK_RETRY_SECONDS: '0.1', WEBHOOK_POLL_SECONDS: '0.1', WEBHOOK_GIVE_UP_SECONDS: '5', WEBHOOK_TIMEOUT_SECONDS: '5' } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-ops-'));
  admin = await signIn(srv.url, ADMIN_TOKEN);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
});
after(async () => {
  await browser?.close();
  await srv?.stop();
  await rx?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('webhooks page', () => {
  test('lists the event types the core defines as checkboxes, under the strict CSP', async () => {
    const r = await fetch(`${srv.url}/webhooks`, { headers: { cookie: admin.cookie } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-security-policy'), HTML_CSP);
    const html = await r.text();
    for (const t of [...EVENT_TYPES, '*']) assert.match(html, new RegExp(`<input type="checkbox" id="hook-events-\\d+" name="events" value="${t.replace('*', '\\*')}"`), t);
    assert.doesNotMatch(html, /<script>|<style|style="/, 'no inline script or style');
    assert.match(html, /<a href="\/webhooks" aria-current="page">Webhooks<\/a>/);
    assert.match(html, /<a href="\/audit">Audit log<\/a>/);
  });

  test('bad input is refused with the reason, the typed values shown again, nothing stored', async () => {
    const r = await postForm(admin, '/webhooks', [['url', 'ftp://files.example/x'], ['events', 'package.published'], ['repoPattern', 'ops*'], ['active', 'true']]);
    assert.equal(r.status, 400);
    const html = await r.text();
    assert.match(html, /role="alert">webhook url must be http:\/\/ or https:\/\/, got ftp:</);
    assert.equal(html.match(/role="alert"/g)?.length, 1, 'the reason is shown once');
    assert.match(html, /value="ftp:\/\/files\.example\/x"/);
    const notUrl = await postForm(admin, '/webhooks', [['url', 'not a url'], ['events', '*']]);
    assert.equal(notUrl.status, 400);
    assert.match(await notUrl.text(), /role="alert">invalid webhook: url: an absolute http\(s\) URL</);
    const noEvents = await postForm(admin, '/webhooks', [['url', rx.url], ['repoPattern', '*']]);
    assert.equal(noEvents.status, 400);
    assert.match(await noEvents.text(), /invalid webhook: events: /);
    const shortSecret = await postForm(admin, '/webhooks', [['url', rx.url], ['events', '*'], ['secret', 'short']]);
    assert.equal(shortSecret.status, 400);
    const html3 = await shortSecret.text();
    assert.match(html3, /secret: at least 16 characters/);
    assert.doesNotMatch(html3, /value="short"/, 'a secret is never echoed');
    assert.deepEqual(await srv.services.webhooks.list(), []);
  });

  test('created in the page with a generated secret; a real upload reaches the receiver, signed with it', async () => {
    const r = await postForm(admin, '/webhooks', [['url', rx.url], ['secret', ''], ['events', 'package.published'], ['events', 'repository.created'], ['repoPattern', 'ops*'], ['description', 'CI trigger'], ['active', 'true']]);
    assert.equal(r.status, 201);
    const html = await r.text();
    secret = /<code id="new-secret">(whsec_[A-Za-z0-9_-]+)<\/code>/.exec(html)?.[1] ?? '';
    assert.ok(secret, 'the generated secret is shown once, in a copy block');
    assert.match(html, /<button type="button" class="copy" data-copy="new-secret"/);
    const [hook] = await srv.services.webhooks.list();
    hookId = hook.id;
    assert.deepEqual({ url: hook.url, events: hook.events, repoPattern: hook.repoPattern, active: hook.active, description: hook.description }, { url: rx.url, events: ['package.published', 'repository.created'], repoPattern: 'ops*', active: true, description: 'CI trigger' });
    assert.equal(await srv.services.webhooks.secretOf(hookId), secret);
    // The list shows it, and the secret only on the create answer.
    const list = await admin.get('/webhooks');
    assert.doesNotMatch(list.html, new RegExp(secret));
    const row = rowsOf(list.html)[0];
    assert.match(row, new RegExp(`<a href="/webhooks/${hookId}" class="url">${rx.url.replace(/[.]/g, '\\.')}</a>`));
    assert.match(row, /<code>package\.published<\/code>, <code>repository\.created<\/code>/);
    assert.match(row, /<code>ops\*<\/code>/);
    assert.match(row, /none yet/);

    const deb = makeDeb(dir, { name: 'ops-hello', version: '1.0-1', description: 'Sent to a webhook' });
    const up = await upload(srv.url, deb, { reponame: 'ops-debs' });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const got = await rx.waitFor(2);
    const types = got.map((g) => g.json.type).sort();
    assert.deepEqual(types, ['package.published', 'repository.created']);
    for (const g of got) assert.ok(verifySignature(secret, g.body, g.headers['x-artifactd-signature'] as string), `signature of ${g.json.type}`);
    const pub = got.find((g) => g.json.type === 'package.published')!;
    assert.equal(pub.json.package.name, 'ops-hello');
    assert.equal(pub.json.repository.name, 'ops-debs');
    // The list's last delivery column follows.
    assert.match(rowsOf(await pageUntil(admin, '/webhooks', /state-delivered/))[0], /<span class="state state-delivered">delivered<\/span> <span class="muted">HTTP 204<\/span>/);
  });

  test('send test pings the receiver; the deliveries list shows it; redeliver sends it again', async () => {
    const before = rx.received.length;
    const r = await postForm(admin, `/webhooks/${hookId}/test`, []);
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), `/webhooks/${hookId}?notice=webhook-ping`);
    const [ping] = (await rx.waitFor(before + 1)).slice(before);
    assert.equal(ping.json.type, 'ping');
    assert.ok(verifySignature(secret, ping.body, ping.headers['x-artifactd-signature'] as string));
    const deliveryId = Number(ping.headers['x-artifactd-delivery']);
    const html = await pageUntil(admin, `/webhooks/${hookId}`, new RegExp(`#${deliveryId} <code>ping</code></th>\\s*<td data-label="Status"><span class="state state-delivered">`));
    const row = rowsOf(html).find((x) => x.includes(`#${deliveryId} <code>ping</code>`))!;
    assert.match(row, /data-label="Response">204</);
    assert.match(row, /data-label="Duration">\d+ ms</);
    assert.match(row, /data-label="Attempts">1</);
    assert.match(row, new RegExp(`action="/webhooks/${hookId}/deliveries/${deliveryId}/redeliver"`));
    assert.equal(rowsOf(html).length, 3, 'the ping and the two upload events, newest first');
    assert.match(rowsOf(html)[0], /<code>ping<\/code>/);

    const again = await postForm(admin, `/webhooks/${hookId}/deliveries/${deliveryId}/redeliver`, []);
    assert.equal(again.status, 303);
    const [resent] = (await rx.waitFor(before + 2)).slice(before + 1);
    assert.equal(resent.headers['x-artifactd-delivery'], String(deliveryId), 'the same delivery, sent again');
    assert.equal(resent.body, ping.body, 'the same bytes');
    await pageUntil(admin, `/webhooks/${hookId}`, new RegExp(`#${deliveryId} <code>ping</code></th>\\s*<td data-label="Status"><span class="state state-delivered">[\\s\\S]*?data-label="Attempts">2<`));
    const missing = await postForm(admin, `/webhooks/${hookId}/deliveries/99999/redeliver`, []);
    assert.equal(missing.status, 404);
  });

  test('the change form sets active, events and pattern; bad values change nothing', async () => {
    const page = await admin.get(`/webhooks/${hookId}`);
    assert.match(page.html, /<input type="checkbox" id="edit-active" name="active" value="true" checked>/);
    const r = await postForm(admin, `/webhooks/${hookId}`, [['events', 'package.deleted'], ['events', 'key.rotated'], ['repoPattern', 'ops-*']]);
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), `/webhooks/${hookId}?notice=webhook-saved`);
    const changed = await srv.services.webhooks.get(hookId);
    assert.deepEqual({ events: changed.events, repoPattern: changed.repoPattern, active: changed.active }, { events: ['package.deleted', 'key.rotated'], repoPattern: 'ops-*', active: false });
    const saved = await admin.get(`/webhooks/${hookId}?notice=webhook-saved`);
    assert.match(saved.html, /role="status">The webhook was saved\./);
    assert.match(saved.html, /<input type="checkbox" id="edit-active" name="active" value="true">/);
    assert.match(rowsOf((await admin.get('/webhooks')).html)[0], /paused/);

    const bad = await postForm(admin, `/webhooks/${hookId}`, [['events', 'package.deleted'], ['repoPattern', 'no spaces'], ['active', 'true']]);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /invalid webhook change: repoPattern: repository name characters and &quot;\*&quot;/);
    assert.deepEqual((await srv.services.webhooks.get(hookId)).repoPattern, 'ops-*');
    const reactivated = await postForm(admin, `/webhooks/${hookId}`, [['events', '*'], ['repoPattern', 'ops-*'], ['active', 'true']]);
    assert.equal(reactivated.status, 303);
    assert.equal((await srv.services.webhooks.get(hookId)).active, true);
  });

  test('a given secret signs deliveries and is never shown', async () => {
    const given = 'a-secret-the-admin-chose-42';
    const r = await postForm(admin, '/webhooks', [['url', rx.url], ['secret', given], ['events', '*'], ['repoPattern', 'nothing-matches'], ['active', 'true']]);
    assert.equal(r.status, 201);
    const html = await r.text();
    assert.doesNotMatch(html, new RegExp(given));
    assert.doesNotMatch(html, /id="new-secret"/);
    const id = Math.max(...(await srv.services.webhooks.list()).map((w) => w.id));
    const before = rx.received.length;
    assert.equal((await postForm(admin, `/webhooks/${id}/test`, [])).status, 303);
    const [ping] = (await rx.waitFor(before + 1)).slice(before);
    assert.ok(verifySignature(given, ping.body, ping.headers['x-artifactd-signature'] as string));
    assert.doesNotMatch((await admin.get(`/webhooks/${id}`)).html, new RegExp(given));
    // Delete it: a confirmation page first (no JavaScript needed), then the post.
    const confirm = await admin.get(`/webhooks/${id}/delete`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.html, new RegExp(`<form class="stacked narrow" action="/webhooks/${id}/delete" method="post">\\s*<input type="hidden" name="_csrf" value="[^"]+">`));
    assert.equal((await srv.services.webhooks.list()).length, 2, 'the confirmation page deletes nothing');
    const del = await postForm(admin, `/webhooks/${id}/delete`, []);
    assert.equal(del.status, 303);
    assert.equal(del.headers.get('location'), '/webhooks?notice=webhook-deleted');
    assert.deepEqual((await srv.services.webhooks.list()).map((w) => w.id), [hookId]);
    assert.match((await admin.get('/webhooks?notice=webhook-deleted')).html, /The webhook and its delivery records were deleted\./);
    assert.equal((await admin.get(`/webhooks/${id}`)).status, 404);
    assert.equal((await postForm(admin, `/webhooks/${id}/test`, [])).status, 404);
  });

  test('a post without the CSRF token, with a wrong one, or from another site is refused', async () => {
    const n = (await srv.services.webhooks.list()).length;
    const noToken = await fetch(`${srv.url}/webhooks`, { method: 'POST', redirect: 'manual', headers: { cookie: admin.cookie, origin: srv.url }, body: new URLSearchParams({ url: rx.url, events: '*' }) });
    assert.equal(noToken.status, 403);
    assert.match(await noToken.text(), /CSRF token/);
    assert.equal((await postForm(admin, '/webhooks', [['url', rx.url], ['events', '*']], 'A'.repeat(43))).status, 403);
    const cross = await admin.post('/webhooks', { url: rx.url, events: '*' }, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(cross.status, 403);
    const del = await fetch(`${srv.url}/webhooks/${hookId}/delete`, { method: 'POST', redirect: 'manual', headers: { cookie: admin.cookie, origin: srv.url } });
    assert.equal(del.status, 403);
    const ping = await fetch(`${srv.url}/webhooks/${hookId}/test`, { method: 'POST', redirect: 'manual', headers: { cookie: admin.cookie, origin: srv.url } });
    assert.equal(ping.status, 403);
    assert.equal((await srv.services.webhooks.list()).length, n, 'nothing was created or deleted');
  });
});

describe('who may see the operations pages', () => {
  test('write and read tokens, and an admin of some repositories only, see no links and get 403 on GET and POST', async () => {
    const n = (await srv.services.webhooks.list()).length;
    for (const [name, role, pattern] of [['ops-writer', 'write', '*'], ['ops-reader', 'read', '*'], ['ops-team-admin', 'admin', 'ops-*']]) {
      const token = await apiToken(name, role, pattern);
      const s = await signIn(srv.url, token);
      const home = await s.get('/');
      assert.doesNotMatch(home.html, /href="\/webhooks"|href="\/audit"/, `${name} sees no link`);
      for (const p of ['/webhooks', `/webhooks/${hookId}`, `/webhooks/${hookId}/delete`, '/audit']) {
        const r = await s.get(p);
        assert.equal(r.status, 403, `${name} GET ${p}`);
        assert.match(r.html, /Not allowed/);
      }
      for (const p of ['/webhooks', `/webhooks/${hookId}`, `/webhooks/${hookId}/delete`, `/webhooks/${hookId}/test`]) {
        const r = await postForm(s, p, [['url', rx.url], ['events', '*'], ['repoPattern', '*']]);
        assert.equal(r.status, 403, `${name} POST ${p}`);
      }
      // A bearer token gets the same answer.
      assert.equal((await fetch(`${srv.url}/webhooks`, { headers: { authorization: `Bearer ${token}` } })).status, 403);
    }
    assert.equal((await srv.services.webhooks.list()).length, n);
    assert.equal((await srv.services.webhooks.get(hookId)).active, true, 'nothing changed');
    // Not signed in: the pages send to the sign-in page; a post is 401.
    const anon = await fetch(`${srv.url}/webhooks`, { redirect: 'manual' });
    assert.equal(anon.status, 303);
    assert.equal(anon.headers.get('location'), '/signin?next=%2Fwebhooks');
    assert.equal((await fetch(`${srv.url}/audit?actor=x`, { redirect: 'manual' })).headers.get('location'), '/signin?next=%2Faudit%3Factor%3Dx');
    const anonPost = await fetch(`${srv.url}/webhooks`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ url: rx.url }) });
    assert.equal(anonPost.status, 401);
  });
});

describe('audit page', () => {
  test('lists the upload and the webhook creation with their actors, newest first; filters narrow it', async () => {
    const uploader = await apiToken('ops-uploader', 'write', 'ops-*');
    const deb = makeDeb(dir, { name: 'ops-audited', version: '2.0-1', description: 'For the audit log' });
    assert.equal((await upload(srv.url, deb, { reponame: 'ops-audit' }, { token: uploader })).status, 201);

    // Entries are written when the answer has gone out: wait for the upload's.
    // (Match a table row, not the action filter's own "package.upload" option.)
    const byRepoHtml = await pageUntil(admin, '/audit?repo=ops-audit&provider=apt', /data-label="Actor">ops-uploader/);
    const byRepo = rowsOf(byRepoHtml);
    assert.equal(byRepo.length, 1);
    assert.match(byRepo[0], /data-label="Actor">ops-uploader <span class="muted">#\d+<\/span>/);
    assert.match(byRepo[0], /<code>package\.upload<\/code>/);
    assert.match(byRepo[0], /ops-audited 2\.0-1/);
    assert.match(byRepo[0], /in apt\/ops-audit/);
    assert.match(byRepo[0], /state-ok">ok<\/span> <span class="muted">201/);
    const created = rowsOf((await admin.get('/audit?action=webhook.create&outcome=ok')).html);
    assert.equal(created.length, 2, 'two webhooks were created in the pages so far');
    assert.match(created.at(-1)!, new RegExp(`data-label="Actor">admin</td>[\\s\\S]*>webhook ${hookId}<`), 'the oldest is the first webhook, by admin');
    // Unfiltered, newest first: the upload, then the creation of its token.
    const all = rowsOf((await admin.get('/audit')).html);
    assert.match(all[0], /ops-audited 2\.0-1/);
    assert.match(all[1], /<code>token\.create<\/code>/);
    const byActor = rowsOf((await admin.get('/audit?actor=ops-uploader')).html);
    assert.equal(byActor.length, 1);
    assert.match(byActor[0], /package\.upload/);
    const byAction = rowsOf((await admin.get('/audit?action=webhook.*')).html);
    assert.ok(byAction.length >= 5, `create, update, test, redeliver, delete: ${byAction.length}`);
    assert.ok(byAction.every((x) => /<code>webhook\.[a-z]+<\/code>/.test(x)));
    assert.ok(byAction.some((x) => x.includes('webhook.delete')));
    const denied = rowsOf((await admin.get('/audit?action=webhook.create&outcome=denied')).html);
    assert.ok(denied.length >= 3 && denied.every((x) => /state-denied/.test(x)), 'the refused creations are there too');
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    assert.equal(rowsOf((await admin.get(`/audit?actor=ops-uploader&since=${tomorrow}`)).html).length, 0);
    assert.equal(rowsOf((await admin.get(`/audit?actor=ops-uploader&until=${yesterday}`)).html).length, 0);
    const through = await admin.get(`/audit?actor=ops-uploader&since=${today}&until=${today}`);
    assert.equal(rowsOf(through.html).length, 1, '"through" a day includes that day');
    assert.match(through.html, new RegExp(`id="audit-until" name="until" type="date" value="${today}"`), 'the form keeps the filter');
    assert.match(through.html, /1 entry matches the filter/);
  });

  test('a bad filter is a 400 with the reason and the form; paging happens in SQL', async () => {
    const bad = await admin.get('/audit?since=last-tuesday');
    assert.equal(bad.status, 400);
    assert.match(bad.html, /role="alert">since must be an ISO 8601 date\/time or epoch milliseconds, got &quot;last-tuesday&quot;/);
    assert.match(bad.html, /<form class="filter-grid"/);
    assert.equal((await admin.get('/audit?outcome=maybe')).status, 400);

    for (let i = 0; i < 60; i++) await srv.services.audit.record({ action: 'test.bulk', target: `entry ${i}`, status: 200, actor: { id: null, name: 'bulk' } });
    const first = await admin.get('/audit?action=test.bulk');
    assert.equal(rowsOf(first.html).length, 50);
    assert.match(rowsOf(first.html)[0], /entry 59/);
    assert.match(first.html, /Page 1 of 2/);
    assert.match(first.html, /<a href="\/audit\?action=test\.bulk&amp;page=2" rel="next">/);
    const second = await admin.get('/audit?action=test.bulk&page=2');
    assert.equal(rowsOf(second.html).length, 10);
    assert.match(rowsOf(second.html).at(-1)!, /entry 0/);
  });
});

describe('retention rules on the settings page', () => {
  test('the core retention settings render with fitting inputs and save', async () => {
    const page = await admin.get('/ui/apt/ops-debs/-/settings');
    assert.equal(page.status, 200);
    for (const key of ['deleteOlderThanDays', 'keepDownloadedWithinDays']) assert.match(page.html, new RegExp(`<input id="set-${key}" name="${key}" value="" inputmode="numeric"`));
    assert.match(page.html, /<input id="set-retentionPattern" name="retentionPattern" value=""/);
    assert.match(page.html, /<select id="set-deleteNewest" name="deleteNewest"/);
    const r = await admin.post('/ui/apt/ops-debs/-/settings', { deleteOlderThanDays: '30', keepDownloadedWithinDays: '7', retentionPattern: 'ops-*', deleteNewest: 'true' });
    assert.equal(r.status, 303);
    const repo = (await srv.services.repos.find('apt', 'ops-debs'))!;
    assert.deepEqual(
      { a: repo.settings.deleteOlderThanDays, b: repo.settings.keepDownloadedWithinDays, c: repo.settings.retentionPattern, d: repo.settings.deleteNewest },
      { a: 30, b: 7, c: 'ops-*', d: true },
    );
    const bad = await admin.post('/ui/apt/ops-debs/-/settings', { deleteOlderThanDays: '0' });
    assert.equal(bad.status, 400);
    assert.equal((await srv.services.repos.find('apt', 'ops-debs'))!.settings.deleteOlderThanDays, 30);
  });
});

describe('in a browser', () => {
  const shot = async (page: Page, name: string) => {
    for (const width of [360, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      await page.screenshot({ path: path.join(ARTIFACTS, `ops-${name}-${width}.png`), fullPage: true });
      if (width === 360) {
        const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));
        assert.ok(overflow <= 0, `${name} scrolls sideways by ${overflow}px on a 360px screen`);
      }
    }
  };
  const signInPage = async (page: Page) => {
    await page.goto(`${srv.url}/signin`);
    await page.getByLabel('Token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${srv.url}/`);
  };

  test('create a webhook, copy its secret, ping it, delete it by keyboard', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // Every page, stylesheet and script loads (the browser's own /favicon.ico probe aside).
    page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && errors.push(`${r.status()} ${r.url()}`));
    try {
      await signInPage(page);
      await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
      await page.waitForURL(`${srv.url}/webhooks`);
      await page.getByLabel('Receiver URL').fill(`${rx.url}?from=browser`);
      await page.getByLabel(/Every event/).uncheck();
      await page.getByLabel('package.deleted', { exact: true }).check();
      await page.getByLabel('key.rotated', { exact: true }).check();
      await page.getByLabel('Repositories').fill('browser-*');
      await page.getByRole('button', { name: 'Create webhook' }).click();
      const shown = (await page.locator('#new-secret').textContent())!;
      assert.match(shown, /^whsec_/);
      await page.getByRole('button', { name: 'Copy' }).click();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), shown);
      await shot(page, 'webhooks-created');
      const id = Math.max(...(await srv.services.webhooks.list()).map((w) => w.id));
      assert.deepEqual((await srv.services.webhooks.get(id)).events, ['package.deleted', 'key.rotated']);

      await page.getByRole('link', { name: `Open webhook #${id}` }).click();
      const before = rx.received.length;
      await page.getByRole('button', { name: 'Send test ping' }).click();
      await page.waitForURL(/notice=webhook-ping/);
      const [ping] = (await rx.waitFor(before + 1)).slice(before);
      assert.ok(verifySignature(shown, ping.body, ping.headers['x-artifactd-signature'] as string), 'signed with the secret the page showed');
      for (let i = 0; i < 100 && (await page.locator('.state-delivered').count()) === 0; i++) await page.reload();
      assert.equal(await page.locator('tbody .state-delivered').count(), 1);
      await shot(page, 'webhook');

      // Keyboard only: focus the delete link, Enter, then the confirmation button, Enter.
      await page.getByRole('link', { name: 'Delete this webhook…' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(`${srv.url}/webhooks/${id}/delete`);
      await shot(page, 'webhook-delete');
      await page.getByRole('button', { name: 'Delete this webhook' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/notice=webhook-deleted/);
      assert.ok(!(await srv.services.webhooks.list()).some((w) => w.id === id));
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }
  });

  test('the audit log filters with its GET form, without JavaScript', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    try {
      await signInPage(page);
      await page.getByRole('link', { name: 'Audit log', exact: true }).click();
      await page.waitForURL(`${srv.url}/audit`);
      await page.getByLabel('Action').fill('webhook.delete');
      await page.getByLabel('Actor (token name)').fill('admin');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/\/audit\?.*action=webhook\.delete/);
      const actions = await page.locator('tbody td[data-label="Action"]').allTextContents();
      assert.ok(actions.length >= 2, `${actions}`);
      assert.ok(actions.every((a) => a === 'webhook.delete'));
      assert.match((await page.getByRole('status').textContent())!, /entries match the filter/);
      await shot(page, 'audit');
    } finally {
      await ctx.close();
    }
  });
});
