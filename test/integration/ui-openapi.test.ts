/**
 * Issue 8: the OpenAPI document at /api/openapi.json against the real server. Every
 * documented operation is called at least once and its real response is checked against the
 * documented schema (closed schemas: an undocumented field fails too); every /api route the
 * Express app has must be documented, and every documented path must exist.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { buildApp } from '../../src/app';
import { startServer, type TestServer } from '../helpers/server';
import { auth, upload } from '../helpers/http';
import { seed } from './ui-fixtures';
import { check, resolveRef } from './ui-schema-check';

type Doc = Record<string, any>;
let srv: TestServer;
let dir: string;
let doc: Doc;
const exercised = new Set<string>();

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-openapi-'));
  await seed(srv.url, dir);
  const r = await fetch(`${srv.url}/api/openapi.json`);
  assert.equal(r.status, 200);
  doc = (await r.json()) as Doc;
});
after(async () => {
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Call `method template` (path parameters filled from `params`) and check the response
 * against the schema documented for the status it returned. Returns the parsed body.
 */
async function call(method: string, template: string, params: Record<string, string> = {}, opts: { query?: Record<string, string>; body?: unknown; token?: string | null; expect?: number } = {}): Promise<any> {
  const op = doc.paths[template]?.[method.toLowerCase()];
  assert.ok(op, `${method} ${template} is not in the OpenAPI document`);
  const urlPath = template.replace(/\{(\w+)\}/g, (_m, k: string) => {
    assert.ok(k in params, `missing path parameter ${k}`);
    return encodeURIComponent(params[k]);
  });
  const qs = opts.query ? `?${new URLSearchParams(opts.query)}` : '';
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.token === null ? {} : auth(opts.token)) };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${srv.url}${urlPath}${qs}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  if (opts.expect !== undefined) assert.equal(res.status, opts.expect, `${method} ${urlPath}: ${text}`);
  const documented = op.responses[String(res.status)];
  assert.ok(documented, `${method} ${template} answered ${res.status}, which is not documented: ${text}`);
  const schema = documented.content?.['application/json']?.schema;
  assert.ok(schema, `${method} ${template} ${res.status} has no JSON schema`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text);
  assert.deepEqual(check(doc, schema, body), [], `${method} ${urlPath} ${res.status} does not match its schema`);
  if (res.status < 400) exercised.add(`${method.toUpperCase()} ${template}`);
  return body;
}

test('the document is OpenAPI 3.1 and every $ref resolves', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.servers[0].url, srv.url);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref') resolveRef(doc, x as string);
        else walk(x);
      }
    }
  };
  walk(doc);
  for (const [p, ops] of Object.entries<Doc>(doc.paths)) {
    const names = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    for (const [m, op] of Object.entries<Doc>(ops)) {
      assert.ok(op.summary, `${m} ${p} has a summary`);
      assert.ok(Object.keys(op.responses).length > 0, `${m} ${p} documents responses`);
      const documented = (op.parameters ?? []).filter((x: Doc) => x.in === 'path').map((x: Doc) => x.name);
      assert.deepEqual(documented.sort(), [...names].sort(), `${m} ${p} documents exactly its path parameters`);
    }
  }
});

test('every /api route of the app is documented, and every documented path is a route', () => {
  const app = buildApp(srv.services) as unknown as { router: { stack: any[] } };
  const routes = new Set<string>();
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) routes.add(`${m.toUpperCase()} ${prefix}${layer.route.path}`);
      } else if (layer.handle?.stack && prefix === '' && layer.rawPath === '/api') {
        walk(layer.handle.stack, '/api');
      }
    }
  };
  walk(app.router.stack, '');
  const apiRoutes = [...routes].filter((r) => r.split(' ')[1].startsWith('/api/'));
  assert.ok(apiRoutes.length >= 20, `found the /api routes (${apiRoutes.length})`);
  const documented = new Set<string>();
  for (const [p, ops] of Object.entries<Doc>(doc.paths)) for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`);
  for (const r of apiRoutes) assert.ok(documented.has(r), `${r} is served but not documented`);
  for (const d of documented) assert.ok(routes.has(d), `${d} is documented but not served`);
});

test('the checker rejects responses that differ from the schema (it is not vacuous)', async () => {
  const body = (await (await fetch(`${srv.url}/api/repos/apt/debs`)).json()) as Doc;
  const schema = { $ref: '#/components/schemas/Repo' };
  assert.deepEqual(check(doc, schema, body), []);
  const { packages: _dropped, ...missing } = body;
  assert.match(check(doc, schema, missing).join('\n'), /missing required property "packages"/);
  assert.match(check(doc, schema, { ...body, extra: 1 }).join('\n'), /"extra" is not in the schema/);
  assert.match(check(doc, schema, { ...body, size: '12' }).join('\n'), /\$\.size: expected integer, got string/);
  assert.match(check(doc, schema, { ...body, lastPublished: 'yesterday' }).join('\n'), /not an RFC 3339 date-time/);
  assert.match(check(doc, { $ref: '#/components/schemas/RepoList' }, { total: 1, limit: 1, offset: 0, repos: [missing] }).join('\n'), /\$\.repos\[0\]: missing required/);
});

test('read operations match their schemas', async () => {
  await call('GET', '/healthz', {}, { expect: 200 });
  await call('GET', '/api/openapi.json', {}, { expect: 200 });
  const repos = await call('GET', '/api/repos', {}, { expect: 200, query: { limit: '2', offset: '1' } });
  assert.equal(repos.total, 3);
  assert.equal(repos.repos.length, 2);
  const r = await call('GET', '/api/repos/{provider}/{repo}', { provider: 'apt', repo: 'debs' }, { expect: 200 });
  assert.equal(r.packages, 4);
  const pk = await call('GET', '/api/repos/{provider}/{repo}/packages', { provider: 'apt', repo: 'debs' }, { expect: 200, query: { q: 'foo' } });
  assert.deepEqual(pk.packages.map((p: Doc) => p.name), ['foo-tools', 'libfoo']);
  const detail = await call('GET', '/api/repos/{provider}/{repo}/packages/{name}', { provider: 'tar', repo: 'tools', name: 'hello' }, { expect: 200, query: { limit: '1', offset: '1' } });
  assert.equal(detail.total, 3);
  assert.deepEqual(detail.versions.map((v: Doc) => v.version), ['1.9']);
  const v = await call('GET', '/api/repos/{provider}/{repo}/packages/{name}/versions/{version}', { provider: 'pypi', repo: 'py', name: 'Requestz', version: '1.0' }, { expect: 200 });
  assert.equal(v.files[0].meta.description, 'HTTP for testers');
  await call('GET', '/api/search', {}, { expect: 200, query: { q: 'widget' } });
  await call('GET', '/api/repos/{provider}/{repo}/status', { provider: 'apt', repo: 'debs' }, { expect: 200 });
  const keys = await call('GET', '/api/repos/{provider}/{repo}/keys', { provider: 'apt', repo: 'debs' }, { expect: 200 });
  assert.equal(keys.keys[0].kind, 'openpgp');
});

test('error responses are the documented Error object', async () => {
  await call('GET', '/api/repos/{provider}/{repo}', { provider: 'apt', repo: 'missing' }, { expect: 404 });
  await call('GET', '/api/repos/{provider}/{repo}', { provider: 'nosuchformat', repo: 'debs' }, { expect: 400 });
  await call('GET', '/api/repos/{provider}/{repo}/packages/{name}', { provider: 'apt', repo: 'debs', name: 'nope' }, { expect: 404 });
  await call('GET', '/api/repos/{provider}/{repo}/packages/{name}/versions/{version}', { provider: 'apt', repo: 'debs', name: 'widget', version: '9.9' }, { expect: 404 });
  await call('GET', '/api/search', {}, { expect: 400 });
  await call('GET', '/api/tokens', {}, { expect: 401, token: null });
  await call('DELETE', '/api/repos/{provider}/{repo}/packages/{name}/{version}', { provider: 'tar', repo: 'tools', name: 'hello', version: '1.0' }, { expect: 401, token: null });
});

test('upload, yank, delete and admin operations match their schemas', async () => {
  const op = doc.paths['/addpkg'].post;
  const up = await upload(srv.url, { name: 'tmp-1.tar.gz', data: Buffer.from('x') }, { provider: 'tar', reponame: 'scratch', name: 'tmp', version: '1' });
  assert.equal(up.status, 201);
  assert.deepEqual(check(doc, op.responses['201'].content['application/json'].schema, up.body), []);
  const later = await upload(srv.url, { name: 'tmp-2.tar.gz', data: Buffer.from('y') }, { provider: 'tar', reponame: 'scratch', name: 'tmp', version: '2', wait: '0' });
  assert.equal(later.status, 202);
  assert.deepEqual(check(doc, op.responses['202'].content['application/json'].schema, later.body), []);
  const dup = await upload(srv.url, { name: 'tmp-1.tar.gz', data: Buffer.from('x') }, { provider: 'tar', reponame: 'scratch', name: 'tmp', version: '1' });
  assert.equal(dup.status, 409);
  assert.deepEqual(check(doc, op.responses['409'].content['application/json'].schema, dup.body), []);
  exercised.add('POST /addpkg');

  const form = new FormData();
  form.append('f', new Blob([Buffer.from('z')]), 'tmp-3.tar.gz');
  form.append('f', new Blob([]), 'empty.tar.gz');
  const batch = await fetch(`${srv.url}/addpkg/batch?provider=tar&reponame=scratch&name=tmp&version=3&wait=0`, { method: 'POST', body: form, headers: auth() });
  assert.equal(batch.status, 207);
  assert.deepEqual(check(doc, doc.paths['/addpkg/batch'].post.responses['207'].content['application/json'].schema, await batch.json()), []);
  exercised.add('POST /addpkg/batch');
  await call('POST', '/api/repos/{provider}/{repo}/publish', { provider: 'tar', repo: 'scratch' }, { expect: 200 });

  const p = { provider: 'pypi', repo: 'py', name: 'idna-lite', version: '0.1' };
  await call('POST', '/api/repos/{provider}/{repo}/packages/{name}/{version}/yank', p, { expect: 200, body: { reason: 'broken' } });
  await call('DELETE', '/api/repos/{provider}/{repo}/packages/{name}/{version}/yank', p, { expect: 200 });

  const scratch = { provider: 'tar', repo: 'scratch' };
  const deleted = await call('DELETE', '/api/repos/{provider}/{repo}/packages/{name}/{version}', { ...scratch, name: 'tmp', version: '2' }, { expect: 200 });
  assert.equal(deleted.deleted, 1);
  await call('GET', '/api/repos/{provider}/{repo}/settings', scratch, { expect: 200 });
  await call('PATCH', '/api/repos/{provider}/{repo}/settings', scratch, { expect: 200, body: { keep: 5 } });
  await call('POST', '/api/repos/{provider}/{repo}/clean', scratch, { expect: 200, body: { keep: 1, dryRun: true } });
  const reindexed = await call('POST', '/api/repos/{provider}/{repo}/reindex', scratch, { expect: 200, body: {} });
  assert.equal(reindexed.skipped, 0);
  await call('DELETE', '/api/repos/{provider}/{repo}/packages/{name}', { ...scratch, name: 'tmp' }, { expect: 200 });

  const created = await call('POST', '/api/tokens', {}, { expect: 201, body: { name: 'ci', role: 'write', repoPattern: 'team-*' } });
  const list = await call('GET', '/api/tokens', {}, { expect: 200 });
  assert.ok(list.tokens.some((t: Doc) => t.id === created.id));
  await call('DELETE', '/api/tokens/{id}', { id: String(created.id) }, { expect: 200 });

  const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'UI test', email: 'ui@example.org' }], format: 'armored' });
  await call('POST', '/api/repos/{provider}/{repo}/keys/import', { provider: 'apt', repo: 'debs' }, { expect: 200, body: { armoredPrivateKey: privateKey } });
  await call('POST', '/api/repos/{provider}/{repo}/keys/rotate', { provider: 'apt', repo: 'debs' }, { expect: 200, body: { kind: 'openpgp' } });
  await call('POST', '/api/gc', {}, { expect: 200, body: { dryRun: true } });

  // Repository kinds (issue 14): nothing is fetched until a client asks, so the upstream need not exist.
  const remote = { provider: 'pypi', repo: 'mirror' };
  await call('PUT', '/api/repos/{provider}/{repo}', remote, { expect: 201, body: { type: 'remote', upstream: 'http://127.0.0.1:9/simple/', auth: { type: 'bearer', token: 'x' } } });
  const changed = await call('PUT', '/api/repos/{provider}/{repo}', remote, { expect: 200, body: { type: 'remote', upstream: 'http://127.0.0.1:9/simple/', metadataTtl: 60 } });
  assert.deepEqual(changed.remote.auth, { type: 'bearer' }, 'omitted auth keeps the stored one');
  const shown = await call('GET', '/api/repos/{provider}/{repo}', remote, { expect: 200 });
  assert.equal(shown.type, 'remote');
  await call('GET', '/api/repos/{provider}/{repo}/cache', remote, { expect: 200 });
  const virt = await call('PUT', '/api/repos/{provider}/{repo}', { provider: 'pypi', repo: 'everything' }, { expect: 201, body: { type: 'virtual', members: ['py', 'mirror'] } });
  assert.deepEqual(virt.members, ['py', 'mirror']);
  await call('PUT', '/api/repos/{provider}/{repo}', { provider: 'pypi', repo: 'py' }, { expect: 409, body: { type: 'remote', upstream: 'http://127.0.0.1:9/' } });
});

test('webhook and audit operations match their schemas', async () => {
  const hook = await call('POST', '/api/webhooks', {}, { expect: 201, body: { url: 'http://127.0.0.1:9/hook', events: ['package.published'], active: false } });
  assert.match(hook.secret, /^whsec_/);
  const id = { id: String(hook.id) };
  await call('GET', '/api/webhooks', {}, { expect: 200 });
  await call('GET', '/api/webhooks/{id}', id, { expect: 200 });
  await call('PATCH', '/api/webhooks/{id}', id, { expect: 200, body: { description: 'nowhere', repoPattern: 'py*' } });
  const ping = await call('POST', '/api/webhooks/{id}/test', id, { expect: 202 });
  const deliveries = await call('GET', '/api/webhooks/{id}/deliveries', id, { expect: 200 });
  assert.equal(deliveries.deliveries[0].id, ping.id);
  await call('POST', '/api/webhooks/{id}/deliveries/{delivery}/redeliver', { ...id, delivery: String(ping.id) }, { expect: 202 });
  await call('PATCH', '/api/webhooks/{id}', id, { expect: 400, body: { events: ['nope'] } });
  await call('DELETE', '/api/webhooks/{id}', id, { expect: 200 });
  const audit = await call('GET', '/api/audit', {}, { expect: 200, query: { action: 'webhook.*', limit: '5' } });
  assert.ok(audit.entries.length >= 3);
  await call('GET', '/api/audit', {}, { expect: 400, query: { since: 'last tuesday' } });
});

test('every documented operation was exercised against the server', () => {
  const all: string[] = [];
  for (const [p, ops] of Object.entries<Doc>(doc.paths)) for (const m of Object.keys(ops)) all.push(`${m.toUpperCase()} ${p}`);
  assert.deepEqual(all.filter((o) => !exercised.has(o)), []);
});
