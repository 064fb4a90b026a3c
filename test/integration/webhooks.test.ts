/**
 * Issue 16, webhooks: a real receiver on loopback checks signatures, headers, payloads and
 * ordering; retries after failures; `package.published` held until the index is published;
 * a stalled receiver never slows uploads; give-up, redelivery, filters and bad input.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { upload, getJson, auth } from '../helpers/http';
import { freePort } from '../helpers/child-server';
import { startReceiver, verifySignature, type WebhookReceiver } from '../helpers/webhook-receiver';
import { eventually } from '../helpers/eventually';
import { makeDeb } from './ui-fixtures';

let srv: TestServer;
let tmp: string;
let rx: WebhookReceiver;
const SECRET = 'receiver-shared-secret-0123';

async function api(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: any }> {
  const res = await fetch(`${srv.url}${path}`, { method, headers: { ...(token === null ? {} : auth(token)), ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const tarball = (name: string, version: string) => ({ file: { name: `${name}-${version}.tar.gz`, data: crypto.randomBytes(2000) }, query: { provider: 'tar', reponame: 'hooks', name, version } });

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'artifactd-hooks-'));
  rx = await startReceiver();
  srv = await startServer({ env: { WEBHOOK_RETRY_SECONDS: '0.1', WEBHOOK_POLL_SECONDS: '0.1', WEBHOOK_GIVE_UP_SECONDS: '3', WEBHOOK_TIMEOUT_SECONDS: '5' } });
});
after(async () => {
  await srv.stop();
  await rx.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('webhooks', () => {
  let hookId: number;

  test('create: the secret is never shown back; a generated one is shown once', async () => {
    const r = await api('POST', '/api/webhooks', { url: rx.url, secret: SECRET, events: ['package.published', 'package.deleted', 'package.yanked', 'package.unyanked', 'repository.created'], repoPattern: 'hooks*' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.secret, undefined);
    assert.equal(r.body.url, rx.url);
    hookId = r.body.id;
    const gen = await api('POST', '/api/webhooks', { url: 'http://127.0.0.1:9/never', active: false });
    assert.equal(gen.status, 201);
    assert.match(gen.body.secret, /^whsec_/);
    const list = await api('GET', '/api/webhooks');
    assert.equal(list.body.webhooks.length, 2);
    for (const w of list.body.webhooks) assert.equal(w.secret, undefined);
    assert.ok(!JSON.stringify(list.body).includes(SECRET));
    assert.equal((await api('DELETE', `/api/webhooks/${gen.body.id}`)).status, 200);
  });

  test('bad input is a 4xx that says what is wrong; anonymous and write tokens are refused', async () => {
    const bad = await api('POST', '/api/webhooks', { url: 'ftp://x.example/', events: ['nope'] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'bad_request');
    assert.match(bad.body.error, /events\.0/);
    assert.equal((await api('POST', '/api/webhooks', { url: 'not a url' })).status, 400);
    assert.equal((await api('PATCH', '/api/webhooks/999', { active: false })).status, 404);
    assert.equal((await api('GET', '/api/webhooks', undefined, null)).status, 401);
    const write = await api('POST', '/api/tokens', { name: 'ci', role: 'write' });
    assert.equal((await api('GET', '/api/webhooks', undefined, write.body.token)).status, 403);
  });

  test('uploads are delivered in order, signed, with the documented headers and payload', async () => {
    for (const v of ['1.0', '1.1', '1.2']) {
      const t = tarball('app', v);
      const r = await upload(srv.url, t.file, t.query);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const got = await rx.waitFor(4);
    const types = got.map((g) => g.json.type);
    assert.deepEqual(types, ['repository.created', 'package.published', 'package.published', 'package.published']);
    assert.deepEqual(got.slice(1).map((g) => g.json.package.version), ['1.0', '1.1', '1.2']);
    const ids = got.map((g) => g.json.id as number);
    assert.deepEqual([...ids].sort((a, b) => a - b), ids, 'event ids increase in delivery order');
    for (const g of got) {
      assert.ok(verifySignature(SECRET, g.body, g.headers['x-artifactd-signature'] as string), 'signature verifies');
      assert.ok(!verifySignature('some-other-secret-xyz', g.body, g.headers['x-artifactd-signature'] as string));
      assert.equal(g.headers['x-artifactd-event'], g.json.type);
      assert.match(String(g.headers['x-artifactd-delivery']), /^\d+$/);
      assert.equal(g.headers['content-type'], 'application/json');
    }
    const p = got[1].json;
    assert.equal(p.repository.provider, 'tar');
    assert.equal(p.repository.name, 'hooks');
    assert.equal(p.repository.url, `${srv.url}/repo/tar/hooks`);
    assert.equal(p.package.name, 'app');
    assert.equal(p.package.filename, 'app-1.0.tar.gz');
    assert.match(p.package.sha256, /^[0-9a-f]{64}$/);
    assert.equal(p.package.size, 2000);
    assert.deepEqual(p.actor, { id: null, name: 'admin' });
    assert.ok(!got[1].body.includes('test-admin-token'), 'never the token itself');
    const dl = await fetch(p.package.downloadUrl);
    assert.equal(dl.status, 200);
    assert.equal(crypto.createHash('sha256').update(Buffer.from(await dl.arrayBuffer())).digest('hex'), p.package.sha256);
  });

  test('package.published waits for the signed index (apt upload with wait=0, published only by the sweep)', async () => {
    const before = rx.received.length;
    const deb = makeDeb(tmp, { name: 'late', version: '2.0', description: 'published later' });
    const r = await upload(srv.url, deb, { provider: 'apt', reponame: 'hooks-apt', wait: '0' });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await new Promise((res) => setTimeout(res, 800));
    const status = await api('GET', '/api/repos/apt/hooks-apt/status');
    assert.ok(status.body.scopes.some((sc: any) => sc.publishedSeq < sc.requestedSeq), 'the publish is still pending');
    assert.deepEqual(rx.received.slice(before).map((g) => g.json.type), ['repository.created'], 'package.published is held while the index lacks the package');
    await srv.services.publisher.sweep((id) => srv.services.repos.byId(id));
    const got = await rx.waitFor(before + 2);
    assert.equal(got[before + 1].json.type, 'package.published');
    assert.equal(got[before + 1].json.package.name, 'late');
    const after = await api('GET', '/api/repos/apt/hooks-apt/status');
    for (const sc of after.body.scopes) assert.ok(sc.publishedSeq >= sc.requestedSeq);
    const release = await fetch(`${srv.url}/repo/apt/hooks-apt/${after.body.scopes[0].scope}/InRelease`);
    assert.equal(release.status, 200);
    assert.match(await release.text(), /BEGIN PGP SIGNED MESSAGE/);
  });

  test('a receiver failing twice gets the delivery on the third attempt; the record shows it', async () => {
    const before = rx.received.length;
    rx.failNext(2, 503);
    const r = await api('POST', '/api/repos/tar/hooks/packages/app/1.0/yank', { reason: 'broken' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const got = await rx.waitFor(before + 1);
    const ev = got[before];
    assert.equal(ev.json.type, 'package.yanked');
    assert.equal(ev.json.details.reason, 'broken');
    // The receiver has the request before its 204 reaches the server, which records it after.
    const record = async () => {
      const d = await api('GET', `/api/webhooks/${hookId}/deliveries?limit=50`);
      assert.equal(d.status, 200);
      return d.body.deliveries.find((x: any) => String(x.id) === ev.headers['x-artifactd-delivery']);
    };
    const rec = await eventually(record, { accept: (x: any) => x?.status === 'delivered' });
    assert.equal(rec.status, 'delivered');
    assert.equal(rec.attempts, 3);
    assert.equal(rec.responseCode, 204);
    assert.equal(typeof rec.durationMs, 'number');
    assert.equal(rx.received.filter((x) => x.headers['x-artifactd-delivery'] === ev.headers['x-artifactd-delivery']).length, 1);
  });

  test('redelivery sends the same delivery (same id, same signed body) again', async () => {
    const first = rx.received[rx.received.length - 1];
    const before = rx.received.length;
    const r = await api('POST', `/api/webhooks/${hookId}/deliveries/${first.headers['x-artifactd-delivery']}/redeliver`);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const got = await rx.waitFor(before + 1);
    assert.equal(got[before].body, first.body);
    assert.equal(got[before].headers['x-artifactd-delivery'], first.headers['x-artifactd-delivery']);
  });

  test('deletes fire package.deleted per file; other repositories and event types are filtered out', async () => {
    const before = rx.received.length;
    const other = tarball('elsewhere', '1.0');
    assert.equal((await upload(srv.url, other.file, { ...other.query, reponame: 'unrelated' })).status, 201);
    assert.equal((await api('DELETE', '/api/repos/tar/hooks/packages/app/1.1')).status, 200);
    const got = await rx.waitFor(before + 1);
    await new Promise((res) => setTimeout(res, 400));
    const fresh = rx.received.slice(before);
    assert.deepEqual(fresh.map((g) => `${g.json.type} ${g.json.repository.name}`), ['package.deleted hooks']);
    assert.equal(got[before].json.package.version, '1.1');
  });

  test('creating a remote or a virtual repository fires repository.created', async () => {
    const before = rx.received.length;
    const made = await api('PUT', '/api/repos/pypi/hooks-remote', { type: 'remote', upstream: 'http://127.0.0.1:9/simple/' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const virtual = await api('PUT', '/api/repos/pypi/hooks-virtual', { type: 'virtual', members: ['hooks-remote'] });
    assert.equal(virtual.status, 201, JSON.stringify(virtual.body));
    assert.equal((await api('PUT', '/api/repos/pypi/hooks-remote', { type: 'remote', upstream: 'http://127.0.0.1:9/other/simple/' })).status, 200, 'a change is not a creation');
    const got = await rx.waitFor(before + 2);
    await new Promise((res) => setTimeout(res, 400));
    assert.deepEqual(rx.received.slice(before).map((g) => `${g.json.type} ${g.json.repository.provider}/${g.json.repository.name}`), ['repository.created pypi/hooks-remote', 'repository.created pypi/hooks-virtual']);
    for (const g of got.slice(before)) assert.ok(verifySignature(SECRET, g.body, g.headers['x-artifactd-signature'] as string));
  });

  test('ping (rpcli webhook test) goes to that webhook alone', async () => {
    const before = rx.received.length;
    const r = await api('POST', `/api/webhooks/${hookId}/test`);
    assert.equal(r.status, 202);
    const got = await rx.waitFor(before + 1);
    assert.equal(got[before].json.type, 'ping');
    assert.equal(got[before].headers['x-artifactd-event'], 'ping');
  });

  test('unyank, settings, key rotation and a failed publish reach a receiver, signed, with the actor (never its token)', async () => {
    const ops = await startReceiver();
    const OPS_SECRET = 'ops-receiver-secret-4567';
    const hook = await api('POST', '/api/webhooks', { url: ops.url, secret: OPS_SECRET, events: ['package.unyanked', 'repository.settings_changed', 'key.rotated', 'publish.failed'], repoPattern: 'hooks-ops*' });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    const admin = (await api('POST', '/api/tokens', { name: 'ops-admin', role: 'admin' })).body;
    const as = (method: string, p: string, body?: unknown) => api(method, p, body, admin.token);
    const checked = (g: (typeof ops.received)[number], type: string, repo: { provider: string; name: string }) => {
      assert.equal(g.json.type, type);
      assert.equal(g.headers['x-artifactd-event'], type);
      assert.ok(verifySignature(OPS_SECRET, g.body, g.headers['x-artifactd-signature'] as string), `${type}: the signature verifies`);
      assert.ok(Math.abs(Date.parse(g.json.time) - Date.now()) < 600_000, `${type}: time is an ISO timestamp of now`);
      assert.deepEqual(g.json.repository, { provider: repo.provider, name: repo.name, url: `${srv.url}/repo/${repo.provider}/${repo.name}` });
      assert.deepEqual(g.json.actor, { id: admin.id, name: 'ops-admin' }, `${type}: the actor`);
      assert.ok(!g.body.includes(admin.token), `${type}: never the token itself`);
      return g.json;
    };
    const tarRepo = { provider: 'tar', name: 'hooks-ops' };
    const t = tarball('ev', '1.0');
    assert.equal((await upload(srv.url, t.file, { ...t.query, reponame: 'hooks-ops' })).status, 201);
    assert.equal((await as('POST', '/api/repos/tar/hooks-ops/packages/ev/1.0/yank', { reason: 'oops' })).status, 200);
    assert.equal((await as('DELETE', '/api/repos/tar/hooks-ops/packages/ev/1.0/yank')).status, 200);
    const unyanked = checked((await ops.waitFor(1))[0], 'package.unyanked', tarRepo);
    assert.equal(unyanked.package.name, 'ev');
    assert.equal(unyanked.package.version, '1.0');
    assert.equal(unyanked.package.filename, 'ev-1.0.tar.gz');

    assert.equal((await as('PATCH', '/api/repos/tar/hooks-ops/settings', { description: 'operations' })).status, 200);
    const settings = checked((await ops.waitFor(2))[1], 'repository.settings_changed', tarRepo);
    assert.deepEqual(settings.details.changed, { description: 'operations' });
    assert.equal(settings.details.settings.description, 'operations');
    assert.equal(settings.package, null);

    // An apt repository: the new key re-signs InRelease, which the event waits for.
    const aptRepo = { provider: 'apt', name: 'hooks-ops-apt' };
    assert.equal((await upload(srv.url, makeDeb(tmp, { name: 'opsdeb', version: '1.0', description: 'ops' }), { provider: 'apt', reponame: 'hooks-ops-apt' })).status, 201);
    const rotated = await as('POST', '/api/repos/apt/hooks-ops-apt/keys/rotate', { kind: 'openpgp' });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const key = checked((await ops.waitFor(3))[2], 'key.rotated', aptRepo);
    const active = rotated.body.keys.filter((k: any) => k.active && k.kind === 'openpgp').map((k: any) => k.fingerprint);
    assert.deepEqual(key.details, { kind: 'openpgp', retired: false, active });
    assert.equal(active.length, 1);

    // publish.failed, provoked for real: the blob store refuses writes (its sha256 directory is
    // replaced by a plain file, so creating a blob fails with ENOTDIR even for root), and a
    // settings change that shows in Release makes the server republish.
    const store = path.join(srv.dataDir, 'blobs', 'sha256');
    fs.renameSync(store, `${store}.away`);
    fs.writeFileSync(store, 'not a directory');
    try {
      const failing = await as('PATCH', '/api/repos/apt/hooks-ops-apt/settings', { origin: 'Ops Origin' });
      assert.ok(failing.status >= 500, `the republish fails (${failing.status} ${JSON.stringify(failing.body)})`);
      const failed = checked((await ops.waitFor(4))[3], 'publish.failed', aptRepo);
      assert.match(failed.details.error, /ENOTDIR|EEXIST|not a directory/i);
      assert.equal(typeof failed.details.scope, 'string');
      // The settings change committed, but its event waits for the republish it requested.
      assert.deepEqual(ops.received.map((g) => g.json.type), ['package.unyanked', 'repository.settings_changed', 'key.rotated', 'publish.failed']);
    } finally {
      fs.rmSync(store);
      fs.renameSync(`${store}.away`, store);
    }
    await srv.services.publisher.sweep((id) => srv.services.repos.byId(id));
    const changed = checked((await ops.waitFor(5))[4], 'repository.settings_changed', aptRepo);
    assert.deepEqual(changed.details.changed, { origin: 'Ops Origin' });
    const release = await fetch(`${srv.url}/repo/apt/hooks-ops-apt/${(await api('GET', '/api/repos/apt/hooks-ops-apt/status')).body.scopes[0].scope}/InRelease`);
    assert.match(await release.text(), /^Origin: Ops Origin$/m, 'the event went out once the index shows the change');
    assert.equal((await api('DELETE', `/api/webhooks/${hook.body.id}`)).status, 200);
    await ops.stop();
  });

  test('uploads answer while a receiver holds its delivery open; the held deliveries go out once it answers', async () => {
    const stalled = await startReceiver();
    stalled.hold();
    const hook = await api('POST', '/api/webhooks', { url: stalled.url, secret: SECRET, events: ['package.published'], repoPattern: 'hooks' });
    assert.equal(hook.status, 201);
    const first = tarball('fast', '3.0');
    assert.equal((await upload(srv.url, first.file, first.query)).status, 201);
    // The first delivery reaches the receiver, which sends no answer.
    await eventually(async () => stalled.held, { accept: (n) => n === 1 });
    for (const v of ['3.1', '3.2']) {
      const t = tarball('fast', v);
      assert.equal((await upload(srv.url, t.file, t.query)).status, 201, 'an upload answers while the delivery is unanswered');
    }
    assert.equal(stalled.held, 1, 'the delivery is still held open after the uploads answered');
    assert.equal(stalled.received.length, 0);
    stalled.release();
    const got = await stalled.waitFor(3);
    assert.deepEqual(got.map((g) => g.json.package.version), ['3.0', '3.1', '3.2']);
    await api('DELETE', `/api/webhooks/${hook.body.id}`);
    await stalled.stop();
  });

  test('a dead receiver is given up after WEBHOOK_GIVE_UP_SECONDS', async () => {
    const dead = await api('POST', '/api/webhooks', { url: `http://127.0.0.1:${await freePort()}/`, secret: SECRET, events: ['package.published'], repoPattern: 'hooks' });
    for (const v of ['4.0', '4.1', '4.2']) {
      const t = tarball('gone', v);
      assert.equal((await upload(srv.url, t.file, t.query)).status, 201);
    }
    const failed = () => api('GET', `/api/webhooks/${dead.body.id}/deliveries?status=failed`).then((r) => r.body.deliveries as any[]);
    const rows = await eventually(failed, { accept: (r) => r.length === 3, ms: 15_000 });
    assert.equal(rows.length, 3, 'every delivery to the dead receiver ends failed');
    for (const d of rows) {
      assert.ok(d.attempts >= 2, `retried before giving up (${d.attempts} attempts)`);
      assert.match(d.error, /ECONNREFUSED/);
    }
    await api('DELETE', `/api/webhooks/${dead.body.id}`);
  });

  test('the OpenAPI document lists the webhook routes', async () => {
    const doc = await getJson(`${srv.url}/api/openapi.json`);
    assert.ok(doc.body.paths['/api/webhooks/{id}/deliveries']);
  });
});
