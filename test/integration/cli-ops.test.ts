/**
 * Issue 16 through the real rpcli: webhook add/list/test/deliveries/redeliver/rm against a
 * real loopback receiver, audit with filters, info with download counts, clean with the
 * retention rule flags. Server state is checked over HTTP, not only through the CLI's output.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { getJson, upload, auth } from '../helpers/http';
import { startReceiver, verifySignature, type WebhookReceiver } from '../helpers/webhook-receiver';
import { rpcli, oneErrorLine } from './cli-run';
import { eventually } from '../helpers/eventually';

let srv: TestServer;
let rx: WebhookReceiver;
let env: Record<string, string>;

before(async () => {
  srv = await startServer({ env: { WEBHOOK_POLL_SECONDS: '0.1', DOWNLOAD_FLUSH_SECONDS: '0.1' } });
  rx = await startReceiver();
  env = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: ADMIN_TOKEN };
});
after(async () => {
  await srv.stop();
  await rx.stop();
});

describe('rpcli webhook, audit, info, clean', () => {
  let hookId: number;

  test('webhook add prints a generated secret once; test sends a signed ping; deliveries and redeliver', async () => {
    const add = await rpcli(['webhook', 'add', '--url', rx.url, '--events', 'package.published,package.deleted', '--pattern', 'cli*'], { env });
    assert.equal(add.code, 0, add.stderr);
    const secret = add.stdout.trim();
    assert.match(secret, /^whsec_[\w-]+$/);
    assert.match(add.stderr, /shown once/);
    const list = await rpcli(['webhook', 'list', '--json'], { env });
    const hooks = JSON.parse(list.stdout).webhooks;
    assert.equal(hooks.length, 1);
    hookId = hooks[0].id;
    assert.deepEqual(hooks[0].events, ['package.published', 'package.deleted']);
    assert.ok(!list.stdout.includes(secret));
    const ping = await rpcli(['webhook', 'test', String(hookId)], { env });
    assert.equal(ping.code, 0, ping.stderr);
    const [got] = await rx.waitFor(1);
    assert.equal(got.json.type, 'ping');
    assert.ok(verifySignature(secret, got.body, got.headers['x-artifactd-signature'] as string));
    // The server records the delivery after the receiver's 204 reaches it: poll, do not race it.
    const delivered = new RegExp(`^${got.headers['x-artifactd-delivery']}\\s+ping\\s+delivered\\s+1\\s+204`, 'm');
    const deliveries = await eventually(() => rpcli(['webhook', 'deliveries', String(hookId)], { env }), { accept: (d) => delivered.test(d.stdout) });
    assert.match(deliveries.stdout, /^ID\s+EVENT\s+STATUS/m);
    assert.match(deliveries.stdout, delivered);
    const again = await rpcli(['webhook', 'redeliver', String(hookId), String(got.headers['x-artifactd-delivery'])], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await rx.waitFor(2))[1].body, got.body);
    const bad = await rpcli(['webhook', 'add', '--url', rx.url, '--events', 'package.exploded'], { env });
    assert.notEqual(bad.code, 0);
    assert.match(oneErrorLine(bad), /events\.0/);
  });

  test('info shows download counts; clean --dry-run lists what the rules remove, with why', async () => {
    for (const v of ['1', '2', '3']) assert.equal((await upload(srv.url, { name: `tool-${v}.tgz`, data: Buffer.from(`tool ${v}`) }, { provider: 'tar', reponame: 'cli-shop', name: 'tool', version: v })).status, 201);
    const since = srv.services.downloads.unflushed();
    for (let i = 0; i < 2; i++) await (await fetch(`${srv.url}/repo/tar/cli-shop/tool/3/tool-3.tgz`)).arrayBuffer();
    // Counted once the server's side of each answer is done.
    await eventually(() => srv.services.downloads.unflushed() >= since + 2);
    await srv.services.downloads.flush();
    const info = await rpcli(['info', 'tool', '-r', 'cli-shop'], { env });
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^tool in tar\/cli-shop, latest 3, 2 downloads, last /m);
    assert.match(info.stdout, /^ {2}3 \(2 downloads, last /m);
    assert.match(info.stdout, /^ {2}1 \(0 downloads\)/m);
    const dry = await rpcli(['clean', '-r', 'cli-shop', '--keep', '1', '--downloaded-within-days', '7', '--match', 'to*', '--dry-run'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^would delete tool 2 tool-2\.tgz: not among the newest 1, not downloaded within 7 days$/m);
    assert.match(dry.stdout, /^would delete tool 1 /m);
    assert.match(dry.stdout, /would delete 2 file\(s\)/);
    const still = await getJson(`${srv.url}/api/repos/tar/cli-shop/packages/tool`);
    assert.equal(still.body.total, 3, 'the dry run deleted nothing');
    const real = await rpcli(['clean', '-r', 'cli-shop', '--keep', '2', '--json'], { env });
    assert.deepEqual(JSON.parse(real.stdout).removed.map((f: { version: string }) => f.version), ['1']);
    assert.equal((await getJson(`${srv.url}/api/repos/tar/cli-shop/packages/tool`)).body.total, 2);
    // The deletion reached the webhook subscribed to cli* repositories.
    const got = await rx.waitFor(5);
    assert.deepEqual(got.slice(2).map((g) => `${g.json.type} ${g.json.package?.version}`), ['package.published 1', 'package.published 2', 'package.published 3', 'package.deleted 1'].slice(0, got.length - 2));
  });

  test('audit lists entries, filters by action and actor, and rm removes the webhook', async () => {
    const rm = await rpcli(['webhook', 'rm', String(hookId)], { env });
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await getJson(`${srv.url}/api/webhooks`, auth())).body.webhooks.length, 0);
    // Audit entries are written when each answer is finished: wait for the delete's.
    const audit = await eventually(() => rpcli(['audit', '--action', 'webhook.*'], { env }), { accept: (a) => /\swebhook\.delete\s/.test(a.stdout) });
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /^TIME\s+ACTOR\s+FROM\s+ACTION/m);
    for (const a of ['webhook.create', 'webhook.test', 'webhook.redeliver', 'webhook.delete']) assert.match(audit.stdout, new RegExp(`\\sadmin\\s+127\\.0\\.0\\.1\\s+${a.replace('.', '\\.')}\\s`));
    assert.match(audit.stdout, /webhook\.create .*refused 400: invalid webhook/);
    const json = JSON.parse((await rpcli(['audit', '--action', 'package.upload', '--repo', 'cli-shop', '--json'], { env })).stdout);
    assert.equal(json.total, 3);
    const none = await rpcli(['audit', '--actor', 'nobody'], { env });
    assert.match(none.stderr, /no audit entries match/);
  });
});
