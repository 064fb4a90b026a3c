/**
 * Issue 16: the audit log (every write kind, refused uploads included, filters, paging),
 * download statistics (no database write per GET, index files not counted, totals on file,
 * version, package and repository), retention rules (dry run vs real, download window,
 * pattern, newest version, the schedule) and Prometheus metrics (promtool, METRICS modes).
 */
import { FileEntity } from '../../src/db/entities';
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { upload, auth } from '../helpers/http';
import { queriesDuring } from '../helpers/query-log';
import { eventually } from '../helpers/eventually';
import { makeDeb } from './ui-fixtures';
import { EventEntity } from '../../src/db/ops-entities';

let srv: TestServer;
let tmp: string;

async function api(method: string, p: string, body?: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: any }> {
  const res = await fetch(`${srv.url}${p}`, { method, headers: { ...(token === null ? {} : auth(token)), ...(body ? { 'Content-Type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const tar = (repo: string, name: string, version: string, data = crypto.randomBytes(1000)) => upload(srv.url, { name: `${name}-${version}.tar.gz`, data }, { provider: 'tar', reponame: repo, name, version });
const DAY = 86_400_000;
/** The server counts a download once its side of the response is done: wait for `n` more than `since`. */
const unflushed = () => srv.services.downloads.unflushed();
const counted = (since: number, n: number) => eventually(() => unflushed() >= since + n);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'artifactd-ops-'));
  srv = await startServer({ env: { DOWNLOAD_FLUSH_SECONDS: '300', RETENTION_INTERVAL_SECONDS: '0.5' } });
});
after(async () => {
  await srv.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('audit log', () => {
  test('every write kind is recorded with actor, address, action, target and outcome', async () => {
    const writer = (await api('POST', '/api/tokens', { name: 'ci-writer', role: 'write', repoPattern: 'audited' })).body;
    assert.equal((await tar('audited', 'lib', '1.0')).status, 201);
    const ok = await upload(srv.url, { name: 'lib-2.0.tar.gz', data: crypto.randomBytes(100) }, { provider: 'tar', reponame: 'audited', name: 'lib', version: '2.0' }, { token: writer.token });
    assert.equal(ok.status, 201);
    // Refused uploads: no token, a token for another repository, a duplicate, an empty file.
    assert.equal((await upload(srv.url, { name: 'x-1.tar.gz', data: Buffer.from('x') }, { provider: 'tar', reponame: 'audited', name: 'x', version: '1' }, { token: null })).status, 401);
    assert.equal((await upload(srv.url, { name: 'x-1.tar.gz', data: Buffer.from('x') }, { provider: 'tar', reponame: 'other', name: 'x', version: '1' }, { token: writer.token })).status, 403);
    assert.equal((await tar('audited', 'lib', '1.0')).status, 409);
    assert.equal((await upload(srv.url, { name: 'e-1.tar.gz', data: Buffer.alloc(0) }, { provider: 'tar', reponame: 'audited', name: 'e', version: '1' })).status, 400);
    assert.equal((await api('POST', '/api/repos/tar/audited/packages/lib/1.0/yank', { reason: 'cve' })).status, 200);
    assert.equal((await api('DELETE', '/api/repos/tar/audited/packages/lib/1.0/yank')).status, 200);
    assert.equal((await api('PATCH', '/api/repos/tar/audited/settings', { description: 'audited repo' })).status, 200);
    assert.equal((await api('POST', '/api/repos/tar/audited/clean', { keep: 5, dryRun: true })).status, 200);
    assert.equal((await api('POST', '/api/repos/tar/audited/reindex', {})).status, 200);
    assert.equal((await api('POST', '/api/repos/tar/audited/keys/rotate', { kind: 'openpgp' })).status, 200);
    assert.equal((await api('POST', '/api/gc', { dryRun: true })).status, 200);
    const hook = (await api('POST', '/api/webhooks', { url: 'http://127.0.0.1:9/', active: false })).body;
    assert.equal((await api('DELETE', `/api/webhooks/${hook.id}`)).status, 200);
    assert.equal((await api('DELETE', '/api/repos/tar/audited/packages/lib/2.0')).status, 200);
    assert.equal((await api('DELETE', `/api/tokens/${writer.id}`)).status, 200);
    // Entries are written when the answer is finished: wait for the last one.
    const { body } = await eventually(() => api('GET', '/api/audit?limit=100'), { accept: (r) => r.body.entries.some((e: any) => e.action === 'token.revoke') });
    const entries = [...body.entries].reverse();
    const line = (e: any) => `${e.action} ${e.outcome} ${e.status} ${e.actor.name}`;
    const lines = entries.map(line);
    for (const expected of [
      'token.create ok 201 admin', 'package.upload ok 201 admin', 'package.upload ok 201 ci-writer', 'package.upload denied 401 anonymous', 'package.upload denied 403 ci-writer',
      'package.upload refused 409 admin', 'package.upload refused 400 admin', 'package.yank ok 200 admin', 'package.unyank ok 200 admin', 'repo.settings ok 200 admin',
      'repo.clean ok 200 admin', 'repo.reindex ok 200 admin', 'key.rotate ok 200 admin', 'gc ok 200 admin', 'webhook.create ok 201 admin', 'webhook.delete ok 200 admin',
      'package.delete ok 200 admin', 'token.revoke ok 200 admin',
    ]) assert.ok(lines.includes(expected), `${expected} in:\n${lines.join('\n')}`);
    const up = entries.find((e: any) => line(e) === 'package.upload ok 201 ci-writer');
    assert.equal(up.actor.id, writer.id);
    assert.equal(up.clientIp, '127.0.0.1');
    assert.equal(up.provider, 'tar');
    assert.equal(up.repo, 'audited');
    assert.equal(up.target, 'lib 2.0 lib-2.0.tar.gz');
    const dup = entries.find((e: any) => line(e) === 'package.upload refused 409 admin');
    assert.match(dup.detail, /already exists/);
    assert.equal(dup.target, 'lib-1.0.tar.gz');
    const del = entries.find((e: any) => e.action === 'package.delete');
    assert.equal(del.target, 'lib 2.0');
    assert.ok(!JSON.stringify(body).includes(ADMIN_TOKEN), 'tokens never appear');
  });

  test('filters (repository, actor, action kind, outcome, time) and paging run in SQL', async () => {
    const refused = await api('GET', '/api/audit?action=package.upload&outcome=refused');
    assert.equal(refused.body.total, 2);
    assert.ok(refused.body.entries.every((e: any) => e.action === 'package.upload' && e.outcome === 'refused'));
    const byActor = await api('GET', '/api/audit?actor=ci-writer');
    assert.deepEqual(byActor.body.entries.map((e: any) => e.status).sort(), [201, 403]);
    const kind = await api('GET', '/api/audit?action=package.*&repo=audited&provider=tar');
    assert.ok(kind.body.entries.length >= 7 && kind.body.entries.every((e: any) => e.action.startsWith('package.') && e.repo === 'audited'));
    const all = await api('GET', '/api/audit?limit=1000');
    const pageA = await api('GET', '/api/audit?limit=3&offset=0');
    const pageB = await api('GET', '/api/audit?limit=3&offset=3');
    assert.equal(pageA.body.total, all.body.total);
    assert.deepEqual([...pageA.body.entries, ...pageB.body.entries].map((e: any) => e.id), all.body.entries.slice(0, 6).map((e: any) => e.id));
    const future = await api('GET', `/api/audit?since=${new Date(Date.now() + DAY).toISOString()}`);
    assert.equal(future.body.total, 0);
    const past = await api('GET', `/api/audit?until=${Date.now() + DAY}`);
    assert.equal(past.body.total, all.body.total);
    assert.equal((await api('GET', '/api/audit?until=soon')).status, 400);
    assert.equal((await api('GET', '/api/audit', undefined, null)).status, 401);
    // Append-only: there is no way to change or delete entries through the API.
    assert.equal((await api('DELETE', '/api/audit')).status, 404);
    assert.equal((await api('DELETE', `/api/audit/${all.body.entries[0].id}`)).status, 404);
  });
});

describe('download statistics', () => {
  test('GETs are counted in memory (no database write per GET) and written in one flush; index files, HEAD and 304 are not counted', async () => {
    const deb = makeDeb(tmp, { name: 'counted', version: '1.0', description: 'counted downloads' });
    const up = await upload(srv.url, deb, { provider: 'apt', reponame: 'stats' });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const fileUrl = String(up.body.url);
    const since = unflushed();
    const writes = await queriesDuring(srv.services.db.ds, async () => {
      for (let i = 0; i < 5; i++) assert.equal((await fetch(fileUrl)).status, 200);
      assert.equal((await fetch(fileUrl, { headers: { Range: 'bytes=10-20' } })).status, 206); // a resumed download: not a new one
      assert.equal((await fetch(fileUrl, { method: 'HEAD' })).status, 200);
      assert.equal((await fetch(fileUrl, { headers: { 'If-None-Match': `"${up.body.sha256}"` } })).status, 304);
      for (const index of ['dists/stable/InRelease', 'dists/stable/main/binary-amd64/Packages']) assert.equal((await fetch(`${srv.url}/repo/apt/stats/${index}`)).status, 200);
      await counted(since, 5);
    });
    // (The webhook dispatcher may release the upload's event meanwhile: only download writes count here.)
    assert.deepEqual(writes.filter((q) => /^\s*(UPDATE|INSERT)/i.test(q.sql) && /["`\s](files|download_days)["`\s]/.test(q.sql)).map((q) => q.sql), [], 'no download write while serving');
    const beforeFlush = await api('GET', '/api/repos/apt/stats/packages/counted');
    assert.equal(beforeFlush.body.downloads, 0);
    await srv.services.downloads.flush();
    const pkg = (await api('GET', '/api/repos/apt/stats/packages/counted')).body;
    assert.equal(pkg.downloads, 5);
    assert.equal(pkg.versions[0].downloads, 5);
    assert.equal(pkg.versions[0].files[0].downloads, 5);
    assert.ok(Date.now() - Date.parse(pkg.lastDownloadedAt) < 60_000);
    assert.equal(pkg.versions[0].lastDownloadedAt, pkg.lastDownloadedAt);
    const list = (await api('GET', '/api/repos/apt/stats/packages')).body;
    assert.equal(list.packages[0].downloads, 5);
    const repo = (await api('GET', '/api/repos/apt/stats')).body;
    assert.equal(repo.downloads, 5);
    const version = (await api('GET', '/api/repos/apt/stats/packages/counted/versions/1.0')).body;
    assert.equal(version.downloads, 5);
    // The per-day table feeds the plots.
    const days = await srv.services.downloads.perDay(srv.services.catalog ? (await srv.services.repos.get('apt', 'stats')).id : 0, 'counted', 0);
    assert.deepEqual(days, [{ day: Math.floor(Date.now() / DAY), downloads: 5 }]);
    // The UI shows them: package page (facts, per-file column, per-day plot) and repository page.
    const page = await (await fetch(`${srv.url}/ui/apt/stats/counted`)).text();
    assert.match(page, /<dt>Downloads<\/dt><dd>5 · last <time/);
    assert.match(page, /<td class="num" data-label="Downloads">5<\/td>/);
    assert.match(page, /src="\/ui\/apt\/stats\/plots\/downloads\.svg\?package=counted"/);
    const plot = await fetch(`${srv.url}/ui/apt/stats/plots/downloads.svg?package=counted`);
    assert.equal(plot.status, 200);
    const svgText = await plot.text();
    assert.match(svgText, /<title[^>]*>Downloads per day \(last 30 days\): counted in apt\/stats<\/title>/);
    assert.match(svgText, /5 downloads of counted in apt\/stats/);
    const repoPage = await (await fetch(`${srv.url}/ui/apt/stats`)).text();
    assert.match(repoPage, /· 5 downloads/);
    assert.match(repoPage, /plots\/downloads\.svg/);
    // Counting goes on: a flush adds to what is stored.
    const since2 = unflushed();
    await fetch(fileUrl).then((r) => r.arrayBuffer());
    await counted(since2, 1);
    await srv.services.downloads.flush();
    assert.equal((await api('GET', '/api/repos/apt/stats/packages/counted')).body.downloads, 6);
  });
});

describe('retention rules', () => {
  const age = async (repo: string, version: string, days: number) => {
    const r = await srv.services.repos.get('tar', repo);
    // Simulate an old upload: the rules compare against upload time.
    await srv.services.db.manager.getRepository(FileEntity).update({ repoId: r.id, version }, { createdAt: Date.now() - days * DAY });
  };
  const versions = async (repo: string, name: string) => (await api('GET', `/api/repos/tar/${repo}/packages/${name}`)).body.versions?.map((v: any) => v.version) ?? [];

  test('dry run shows exactly what the real run removes; download window, pattern and newest version are honoured', async () => {
    for (const v of ['1', '2', '3', '4', '5']) assert.equal((await tar('ret', 'app', v)).status, 201);
    assert.equal((await tar('ret', 'keepme', '1')).status, 201);
    for (const v of ['1', '2', '3', '4', '5']) await age('ret', v, 100 - Number(v));
    await age('ret', '1', 100); // keepme 1 too: it is the newest (only) version of its package
    // Version 2 was downloaded recently.
    const since = unflushed();
    await fetch(`${srv.url}/repo/tar/ret/app/2/app-2.tar.gz`).then((r) => r.arrayBuffer());
    await counted(since, 1);
    await srv.services.downloads.flush();

    const dry = await api('POST', '/api/repos/tar/ret/clean', { deleteOlderThanDays: 30, keepDownloadedWithinDays: 7, dryRun: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.deepEqual(dry.body.removed.map((f: any) => `${f.name} ${f.version}`).sort(), ['app 1', 'app 3', 'app 4']);
    assert.match(dry.body.removed[0].reason, /more than 30 days/);
    assert.deepEqual(await versions('ret', 'app'), ['5', '4', '3', '2', '1'], 'a dry run deletes nothing');

    assert.deepEqual((await api('POST', '/api/repos/tar/ret/clean', { deleteOlderThanDays: 30, retentionPattern: 'other-*', dryRun: true })).body.removed, []);
    const withNewest = await api('POST', '/api/repos/tar/ret/clean', { deleteOlderThanDays: 30, deleteNewest: true, name: 'keepme', dryRun: true });
    assert.deepEqual(withNewest.body.removed.map((f: any) => `${f.name} ${f.version}`), ['keepme 1']);
    const keepPlusAge = await api('POST', '/api/repos/tar/ret/clean', { keep: 4, deleteOlderThanDays: 30, dryRun: true });
    assert.deepEqual(keepPlusAge.body.removed.map((f: any) => f.version), ['1'], 'keep protects the newest N even when old');

    const real = await api('POST', '/api/repos/tar/ret/clean', { deleteOlderThanDays: 30, keepDownloadedWithinDays: 7 });
    assert.deepEqual(real.body.removed.map((f: any) => `${f.name} ${f.version}`).sort(), dry.body.removed.map((f: any) => `${f.name} ${f.version}`).sort());
    assert.deepEqual(await versions('ret', 'app'), ['5', '2']);
    assert.deepEqual(await versions('ret', 'keepme'), ['1']);
    const audit = (await api('GET', '/api/audit?action=retention.delete&repo=ret')).body.entries.map((e: any) => e.target).sort();
    assert.deepEqual(audit, ['app 1', 'app 3', 'app 4']);
    const deleted = await srv.services.db.manager.getRepository(EventEntity).find({ where: { type: 'package.deleted', repoName: 'ret' } });
    assert.deepEqual(deleted.map((e) => JSON.parse(e.payload).package.version).sort(), ['1', '3', '4']);
    assert.equal((await api('POST', '/api/repos/tar/ret/clean', { dryRun: true })).status, 400, 'no rules: says what is missing');
    assert.equal((await api('POST', '/api/repos/tar/ret/clean', { deleteOlderThanDays: 0 })).status, 400);
  });

  test('rules set on the repository run on the schedule (RETENTION_INTERVAL_SECONDS) as system', async () => {
    for (const v of ['1', '2', '3']) assert.equal((await tar('sched', 'job', v)).status, 201);
    for (const v of ['1', '2']) await age('sched', v, 60);
    assert.equal((await api('PATCH', '/api/repos/tar/sched/settings', { deleteOlderThanDays: 30 })).status, 200);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await versions('sched', 'job')).length > 1) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await versions('sched', 'job'), ['3']);
    const entries = (await api('GET', '/api/audit?action=retention.delete&repo=sched')).body.entries;
    assert.deepEqual(entries.map((e: any) => `${e.target} ${e.actor.name}`).sort(), ['job 1 system', 'job 2 system']);
  });
});

describe('metrics', () => {
  test('GET /metrics: admin only by default, valid Prometheus text (promtool), the expected series, route templates only', async () => {
    const anon = await fetch(`${srv.url}/metrics`);
    assert.equal(anon.status, 401);
    assert.equal(((await anon.json()) as { code: string }).code, 'unauthorized');
    const res = await fetch(`${srv.url}/metrics`, { headers: auth() });
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const file = path.join(tmp, 'metrics.txt');
    fs.writeFileSync(file, text);
    // promtool (Debian's prometheus package) parses and lints the exposition.
    execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
    const has = (re: RegExp) => assert.match(text, re);
    has(/^artifactd_http_requests_total\{method="GET",route="\/api\/repos\/:provider\/:repo\/packages\/:name",status="200"\} \d+/m);
    has(/^artifactd_http_requests_total\{method="POST",route="\/addpkg",status="201"\} \d+/m);
    has(/^artifactd_http_requests_total\{method="GET",route="\/repo\/apt\/:repo\/\*",status="200"\} \d+/m);
    has(/^artifactd_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/audit"\} \d+/m);
    has(/^artifactd_http_sent_bytes_total\{route="\/repo\/apt\/:repo\/\*"\} [1-9]\d*/m);
    has(/^artifactd_http_received_bytes_total\{route="\/addpkg"\} [1-9]\d*/m);
    has(/^artifactd_publishes_total\{provider="apt",outcome="ok"\} [1-9]\d*/m);
    has(/^artifactd_publish_duration_seconds_count\{provider="apt"\} [1-9]\d*/m);
    has(/^artifactd_pending_publish_scopes 0$/m);
    has(/^artifactd_webhook_deliveries_total\{outcome="delivered"\} \d+/m);
    has(/^artifactd_webhook_deliveries_pending \d+$/m);
    has(/^artifactd_downloads_total\{provider="apt"\} [1-9]\d*/m);
    has(/^# TYPE artifactd_blob_store_errors_total counter$/m);
    has(/^artifactd_database_errors_total \d+/m);
    has(/^process_cpu_user_seconds_total /m);
    has(/^nodejs_heap_size_used_bytes /m);
    // Never raw paths: no package names, file names or repository names in route labels.
    assert.doesNotMatch(text, /route="[^"]*(counted|app-|\.deb|\/stats|\/ret\b)/);
  });

  test('database and blob store errors are counted', async () => {
    const before = await fetch(`${srv.url}/metrics`, { headers: auth() }).then((r) => r.text());
    const n = (t: string, re: RegExp) => Number(re.exec(t)?.[1] ?? 0);
    await srv.services.db.manager.query('SELECT * FROM no_such_table').catch(() => undefined);
    await srv.services.blobs.get('blobs/sha256/00/not-there').catch(() => undefined);
    const afterText = await fetch(`${srv.url}/metrics`, { headers: auth() }).then((r) => r.text());
    assert.equal(n(afterText, /^artifactd_database_errors_total (\d+)/m), n(before, /^artifactd_database_errors_total (\d+)/m) + 1);
    assert.equal(n(afterText, /^artifactd_blob_store_errors_total\{operation="get"\} (\d+)/m), n(before, /^artifactd_blob_store_errors_total\{operation="get"\} (\d+)/m) + 1);
  });

  test('METRICS=public serves anonymous scrapes; METRICS=off has no endpoint', async () => {
    for (const [mode, status] of [['public', 200], ['off', 404]] as const) {
      const other = await startServer({ env: { METRICS: mode } });
      try {
        const r = await fetch(`${other.url}/metrics`);
        assert.equal(r.status, status);
        if (status === 200) execFileSync('promtool', ['check', 'metrics'], { input: await r.text(), stdio: ['pipe', 'pipe', 'pipe'] });
        else assert.equal(((await r.json()) as { code: string }).code, 'not_found');
      } finally {
        await other.stop();
      }
    }
  });
});
