/**
 * Issue 16, audit log: key imports (accepted and refused) and every webhook change are
 * recorded with their actor and target; AUDIT_RETENTION_DAYS prunes old entries on the
 * maintenance schedule and keeps the rest, and 0 keeps everything.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { In } from 'typeorm';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { upload, auth } from '../helpers/http';
import { eventually } from '../helpers/eventually';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';
import { AuditEntity } from '../../src/db/ops-entities';
import { runScheduledRetention } from '../../src/core/scheduled-retention';
import { runCommand } from './apt-tools';

let srv: TestServer;
let rx: WebhookReceiver;
let gnupg: string;
const DAY = 86_400_000;

async function api(server: TestServer, method: string, p: string, body?: unknown, token: string = ADMIN_TOKEN): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${p}`, { method, headers: { ...auth(token), ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const tar = (server: TestServer, repo: string, name: string) => upload(server.url, { name: `${name}-1.0.tar.gz`, data: crypto.randomBytes(500) }, { provider: 'tar', reponame: repo, name, version: '1.0' });
/** Entries are written once the answer is finished: wait until `accept` holds for them. */
const entriesOnce = (server: TestServer, accept: (entries: any[]) => boolean) =>
  eventually(async () => (await api(server, 'GET', '/api/audit?limit=1000')).body.entries as any[], { accept });
/** Back-date audit entries (as if written `days` ago). */
const age = (server: TestServer, ids: number[], days: number) =>
  server.services.db.write((m) => m.getRepository(AuditEntity).update({ id: In(ids) }, { at: Date.now() - days * DAY }));

before(async () => {
  gnupg = fs.mkdtempSync(path.join(os.tmpdir(), 'artifactd-audit-gnupg-'));
  rx = await startReceiver();
  srv = await startServer({ env: { AUDIT_RETENTION_DAYS: '30', RETENTION_INTERVAL_SECONDS: '0.5', WEBHOOK_POLL_SECONDS: '0.1' } });
});
after(async () => {
  await srv.stop();
  await rx.stop();
  fs.rmSync(gnupg, { recursive: true, force: true });
});

describe('audit log', () => {
  test('key imports (accepted and refused) are recorded with the actor, repository and outcome', async () => {
    const keeper = (await api(srv, 'POST', '/api/tokens', { name: 'key-keeper', role: 'admin' })).body;
    assert.equal((await tar(srv, 'keyed', 'lib')).status, 201);
    const gpg = (args: string[]) => runCommand('gpg', ['--homedir', gnupg, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args]);
    const made = await gpg(['--quick-gen-key', 'Audit Key <audit@example.org>', 'ed25519', 'sign', 'never']);
    assert.equal(made.code, 0, made.out);
    const secret = await gpg(['--armor', '--export-secret-keys', 'audit@example.org']);
    const armoredPrivateKey = secret.out.slice(secret.out.indexOf('-----BEGIN PGP PRIVATE KEY BLOCK-----'));
    const imported = await api(srv, 'POST', '/api/repos/tar/keyed/keys/import', { armoredPrivateKey }, keeper.token);
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
    const bad = await api(srv, 'POST', '/api/repos/tar/keyed/keys/import', { armoredPrivateKey: '-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnot a key\n-----END PGP PRIVATE KEY BLOCK-----' }, keeper.token);
    assert.equal(bad.status, 400);
    const entries = await entriesOnce(srv, (es) => es.filter((e) => e.action === 'key.import').length === 2);
    const imports = entries.filter((e) => e.action === 'key.import').reverse();
    assert.deepEqual(imports.map((e) => `${e.outcome} ${e.status} ${e.actor.name} ${e.provider}/${e.repo}`), ['ok 200 key-keeper tar/keyed', 'refused 400 key-keeper tar/keyed']);
    for (const e of imports) assert.equal(e.actor.id, keeper.id);
    assert.match(imports[1].detail, /cannot import key/);
    assert.ok(!JSON.stringify(entries).includes('PRIVATE KEY'), 'the key itself is never recorded');
    assert.ok(!JSON.stringify(entries).includes(keeper.token), 'nor the token');
  });

  test('webhook create, update, test, redelivery and delete are recorded with the webhook as target', async () => {
    const created = await api(srv, 'POST', '/api/webhooks', { url: rx.url, secret: 'audit-hook-secret-0123', events: ['package.published'] });
    assert.equal(created.status, 201);
    const id = created.body.id;
    assert.equal((await api(srv, 'PATCH', `/api/webhooks/${id}`, { events: ['package.published', 'package.deleted'] })).status, 200);
    assert.equal((await api(srv, 'PATCH', `/api/webhooks/${id}`, { url: 'not a url' })).status, 400);
    assert.equal((await api(srv, 'POST', `/api/webhooks/${id}/test`)).status, 202);
    const ping = (await rx.waitFor(1))[0];
    const delivery = String(ping.headers['x-artifactd-delivery']);
    assert.equal((await api(srv, 'POST', `/api/webhooks/${id}/deliveries/${delivery}/redeliver`)).status, 202);
    assert.equal((await api(srv, 'DELETE', `/api/webhooks/${id}`)).status, 200);
    const entries = await entriesOnce(srv, (es) => es.some((e) => e.action === 'webhook.delete'));
    const hooks = entries.filter((e) => e.action.startsWith('webhook.')).reverse();
    assert.deepEqual(hooks.map((e) => `${e.action} ${e.outcome} ${e.status} ${e.target}`), [
      `webhook.create ok 201 /api/webhooks`,
      `webhook.update ok 200 webhook ${id}`,
      `webhook.update refused 400 webhook ${id}`,
      `webhook.test ok 202 webhook ${id}`,
      `webhook.redeliver ok 202 webhook ${id} delivery ${delivery}`,
      `webhook.delete ok 200 webhook ${id}`,
    ]);
    for (const e of hooks) assert.equal(e.actor.name, 'admin');
    assert.ok(!JSON.stringify(entries).includes('audit-hook-secret-0123'), 'the secret is never recorded');
  });

  test('AUDIT_RETENTION_DAYS=30: the maintenance pass deletes entries older than 30 days and keeps the others', async () => {
    for (const name of ['old-a', 'old-b', 'recent']) assert.equal((await tar(srv, 'aged', name)).status, 201);
    const uploads = (await entriesOnce(srv, (es) => es.filter((e) => e.repo === 'aged').length === 3)).filter((e) => e.repo === 'aged');
    const byName = new Map(uploads.map((e) => [e.target.split(' ')[0], e.id as number]));
    await age(srv, [byName.get('old-a')!, byName.get('old-b')!], 31);
    const kept = (await api(srv, 'GET', '/api/audit?limit=1000')).body.entries.map((e: any) => e.id).filter((x: number) => x !== byName.get('old-a') && x !== byName.get('old-b'));
    // One of them just inside the window: 29 days old stays.
    await age(srv, [byName.get('recent')!], 29);
    const left = await eventually(async () => (await api(srv, 'GET', '/api/audit?limit=1000&repo=aged')).body.entries as any[], { accept: (es) => es.length === 1, ms: 10_000 });
    assert.deepEqual(left.map((e) => e.target), ['recent 1.0 recent-1.0.tar.gz']);
    const now = new Set((await api(srv, 'GET', '/api/audit?limit=1000')).body.entries.map((e: any) => e.id));
    for (const id of kept) assert.ok(now.has(id), `entry ${id} (younger than 30 days) is kept`);
  });

  test('AUDIT_RETENTION_DAYS=0 keeps every entry', async () => {
    const forever = await startServer({ env: { AUDIT_RETENTION_DAYS: '0', RETENTION_INTERVAL_SECONDS: '0' } });
    try {
      assert.equal((await tar(forever, 'ancient', 'relic')).status, 201);
      const [entry] = (await entriesOnce(forever, (es) => es.some((e) => e.repo === 'ancient'))).filter((e) => e.repo === 'ancient');
      await age(forever, [entry.id], 3650);
      // The maintenance pass itself (no schedule on this server, so it runs exactly once, now).
      await runScheduledRetention(forever.services);
      const still = (await api(forever, 'GET', '/api/audit?repo=ancient')).body.entries;
      assert.deepEqual(still.map((e: any) => e.id), [entry.id]);
    } finally {
      await forever.stop();
    }
  });
});
