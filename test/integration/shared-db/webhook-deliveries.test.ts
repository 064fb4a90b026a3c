/**
 * Issue 16: webhook deliveries are queued in the database and sent once across several
 * instances. Two instances share one MariaDB or PostgreSQL database (TEST_DB=mysql or unset:
 * MariaDB; TEST_DB=postgres) and one S3 bucket, both dispatchers polling the same queue: a
 * receiver gets every delivery id exactly once, and one delivery per (webhook, event).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, type TestServer } from '../../helpers/server';
import { startS3rver, type S3rverHandle } from '../../helpers/s3';
import { createServerDatabase, sharedDbKind } from '../../helpers/test-db';
import { upload, auth } from '../../helpers/http';
import { eventually } from '../../helpers/eventually';
import { startReceiver, verifySignature, type WebhookReceiver } from '../../helpers/webhook-receiver';

let a: TestServer;
let b: TestServer;
let s3: S3rverHandle;
let db: { url: string; drop: () => Promise<void> };
const receivers: WebhookReceiver[] = [];
const SECRET = 'shared-db-webhook-secret-0123';
const UPLOADS = 40;
// Both dispatchers poll often, so they compete for every event and delivery.
const env = { WEBHOOK_POLL_SECONDS: '0.05', WEBHOOK_RETRY_SECONDS: '0.2', WEBHOOK_GIVE_UP_SECONDS: '60' };

before(async () => {
  db = await createServerDatabase(sharedDbKind());
  s3 = await startS3rver();
  const bucket = { url: s3.url('hooks-bucket') };
  a = await startServer({ databaseUrl: db.url, s3: bucket, env });
  b = await startServer({ databaseUrl: db.url, s3: bucket, env });
});
after(async () => {
  await a.stop();
  await b.stop();
  for (const rx of receivers) await rx.stop();
  await s3.stop();
  await db.drop();
});

const sent = async (srv: TestServer) => (await srv.services.metrics.webhookDeliveries.get()).values.find((v) => v.labels.outcome === 'delivered')?.value ?? 0;

test(`${UPLOADS} uploads split between two instances: each receiver gets every event once, each delivery id once`, async (t) => {
  for (let i = 0; i < 2; i++) receivers.push(await startReceiver());
  const hooks: number[] = [];
  for (const [i, rx] of receivers.entries()) {
    // Created through either instance: the webhook table is shared too.
    const res = await fetch(`${(i ? b : a).url}/api/webhooks`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ url: rx.url, secret: SECRET, events: ['package.published'] }) });
    assert.equal(res.status, 201);
    hooks.push(((await res.json()) as { id: number }).id);
  }
  const versions = Array.from({ length: UPLOADS }, (_, i) => `1.${i}`);
  // Ten at a time, alternating instances.
  for (let i = 0; i < UPLOADS; i += 10) {
    const batch = versions.slice(i, i + 10);
    const res = await Promise.all(batch.map((v, j) => upload((i + j) % 2 ? a.url : b.url, { name: `fan-${v}.tar.gz`, data: crypto.randomBytes(300) }, { provider: 'tar', reponame: 'fanout', name: 'fan', version: v })));
    assert.deepEqual(res.map((r) => r.status), batch.map(() => 201), JSON.stringify(res.map((r) => r.body)));
  }
  const events = new Set<number>();
  for (const rx of receivers) {
    const got = (await rx.waitFor(UPLOADS, 30_000)).filter((g) => g.json.type === 'package.published');
    assert.equal(got.length, UPLOADS);
    for (const g of got) assert.ok(verifySignature(SECRET, g.body, g.headers['x-artifactd-signature'] as string));
    assert.deepEqual(got.map((g) => g.json.package.version).sort(), [...versions].sort(), 'every upload, once');
    const ids = got.map((g) => String(g.headers['x-artifactd-delivery']));
    assert.equal(new Set(ids).size, UPLOADS, 'no delivery id twice');
    assert.equal(new Set(got.map((g) => g.json.id)).size, UPLOADS, 'no event twice');
    for (const g of got) events.add(g.json.id);
  }
  // Both receivers saw the same events (one fan-out per event, not one per instance).
  assert.equal(events.size, UPLOADS);
  // The queue settles: every delivery recorded delivered on its first attempt, nothing pending.
  for (const id of hooks) {
    const rows = await eventually(
      async () => ((await (await fetch(`${a.url}/api/webhooks/${id}/deliveries?limit=200`, { headers: auth() })).json()) as { deliveries: { status: string; attempts: number }[] }).deliveries,
      { accept: (d) => d.length === UPLOADS && d.every((x) => x.status === 'delivered'), ms: 10_000 },
    );
    assert.equal(rows.length, UPLOADS);
    assert.deepEqual([...new Set(rows.map((r) => `${r.status} ${r.attempts}`))], ['delivered 1']);
  }
  // Each instance counts what it sent: between them, each delivery once.
  await eventually(async () => (await sent(a)) + (await sent(b)), { accept: (n) => n >= 2 * UPLOADS });
  assert.equal((await sent(a)) + (await sent(b)), 2 * UPLOADS, 'the two instances sent each delivery once between them');
  assert.deepEqual(receivers.map((rx) => rx.received.length), [UPLOADS, UPLOADS]);
  t.diagnostic(`deliveries sent by instance a: ${await sent(a)}, by instance b: ${await sent(b)}`);
});
