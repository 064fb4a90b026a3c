/**
 * Issue 13 (part 2): the authorization matrix, on SQLite and on MariaDB (TEST_DB=mysql, where
 * the database's default collation is case-insensitive). Repository names are exact: a token
 * scoped to `app-*` can neither write into, administer, nor read the private "App-secret" by
 * naming it "app-secret". And a reader without rights cannot tell a private repository from a
 * missing one: anonymous readers get the same 401 challenge for both, authenticated ones the
 * same 404, on the API, the web UI and /repo/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server';
import { auth, upload } from '../helpers/http';

let srv: TestServer;
const tokens: Record<string, string> = {};
const PRIVATE = 'App-secret';
const FILE = 'secret/1/secret.bin';

before(async () => {
  srv = await startServer();
  const up = await upload(srv.url, { name: 'secret.bin', data: Buffer.from('classified') }, { provider: 'tar', reponame: PRIVATE, name: 'secret', version: '1' });
  assert.equal(up.status, 201);
  const priv = await fetch(`${srv.url}/api/repos/tar/${PRIVATE}/settings`, { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ private: true, keep: 5 }) });
  assert.equal(priv.status, 200);
  for (const [name, role, repoPattern] of [['app-reader', 'read', 'app-*'], ['app-writer', 'write', 'app-*'], ['app-admin', 'admin', 'app-*'], ['exact-reader', 'read', PRIVATE], ['other-writer', 'write', 'other-*']] as const) {
    tokens[name] = (await srv.services.tokens.create({ name, role, repoPattern })).token;
  }
});
after(() => srv.stop());

type Answer = { status: number; body: { error?: string; code?: string }; wwwAuthenticate: string | null };
async function call(method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(token ? auth(token) : {}) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(srv.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
  const text = await res.text();
  let parsed: Answer['body'] = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { error: text };
  }
  return { status: res.status, body: parsed, wwwAuthenticate: res.headers.get('www-authenticate') };
}

/** App-secret is untouched: its file, its settings. */
async function assertPrivateRepoUntouched(): Promise<void> {
  const repo = await srv.services.repos.find('tar', PRIVATE);
  assert.ok(repo);
  assert.deepEqual(repo.settings, { private: true, keep: 5 });
  assert.deepEqual((await srv.services.catalog.allFiles(repo)).map((f) => f.path), [FILE]);
}

describe('names are exact: "app-secret" is not "App-secret"', () => {
  test('an app-* admin token cannot change settings, clean or delete in App-secret by naming it app-secret', async () => {
    const admin = tokens['app-admin'];
    assert.equal((await call('PATCH', '/api/repos/tar/app-secret/settings', admin, { private: false })).status, 404);
    assert.equal((await call('GET', '/api/repos/tar/app-secret/settings', admin)).status, 404);
    assert.equal((await call('POST', '/api/repos/tar/app-secret/clean', admin, { keep: 1 })).status, 404);
    assert.equal((await call('DELETE', '/api/repos/tar/app-secret/packages/secret/1', admin)).status, 404);
    assert.equal((await call('DELETE', '/api/repos/tar/app-secret/packages/secret', admin)).status, 404);
    assert.equal((await call('POST', '/api/repos/tar/app-secret/keys/rotate', admin, {})).status, 404);
    assert.equal((await call('POST', '/api/repos/tar/app-secret/packages/secret/1/yank', tokens['app-writer'], {})).status, 404);
    // ... and by its real name the pattern does not match: 403.
    for (const [method, path, body] of [['PATCH', '/settings', { private: false }], ['POST', '/clean', { keep: 1 }], ['DELETE', '/packages/secret/1', undefined], ['DELETE', '/packages/secret', undefined]] as const) {
      const r = await call(method, `/api/repos/tar/${PRIVATE}${path}`, admin, body);
      assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'forbidden');
    }
    await assertPrivateRepoUntouched();
  });

  test('an app-* read token cannot read App-secret as app-secret (API, UI, /repo/)', async () => {
    const reader = tokens['app-reader'];
    for (const path of ['/api/repos/tar/app-secret', '/api/repos/tar/app-secret/packages', '/api/repos/tar/app-secret/packages/secret', '/api/repos/tar/app-secret/status', '/api/repos/tar/app-secret/keys', '/api/repos/tar/app-secret/packages/secret/versions/1', `/repo/tar/app-secret/${FILE}`, '/repo/tar/app-secret/', '/ui/tar/app-secret']) {
      const r = await call('GET', path, reader);
      assert.equal(r.status, 404, `${path}: ${JSON.stringify(r.body)}`);
    }
    const listed = await call('GET', '/api/repos', reader);
    assert.deepEqual((listed.body as unknown as { repos: { name: string }[] }).repos.map((r) => r.name), []);
    // The token for the exact name reads it.
    const exact = tokens['exact-reader'];
    assert.equal((await call('GET', `/api/repos/tar/${PRIVATE}`, exact)).status, 200);
    assert.equal((await fetch(`${srv.url}/repo/tar/${PRIVATE}/${FILE}`, { headers: auth(exact) })).status, 200);
    assert.equal((await call('GET', '/api/repos/tar/app-secret', exact)).status, 404, 'and only the exact name');
  });

  test('an app-* write token uploading to app-secret creates a repository of its own, never writes into App-secret', async () => {
    const r = await upload(srv.url, { name: 'mine.bin', data: Buffer.from('mine') }, { provider: 'tar', reponame: 'app-secret', name: 'secret', version: '2' }, { token: tokens['app-writer'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.repo, 'app-secret');
    const own = await srv.services.repos.find('tar', 'app-secret');
    assert.ok(own);
    assert.notEqual(own.id, (await srv.services.repos.find('tar', PRIVATE))!.id);
    const denied = await upload(srv.url, { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: PRIVATE, name: 'secret', version: '3' }, { token: tokens['app-writer'] });
    assert.equal(denied.status, 403);
    await assertPrivateRepoUntouched();
    // Both repositories exist side by side; the app-* tokens see only their own.
    assert.equal((await call('GET', '/api/repos/tar/app-secret', tokens['app-reader'])).status, 200);
    const cleanOwn = await call('POST', '/api/repos/tar/app-secret/clean', tokens['app-admin'], { keep: 1, dryRun: true });
    assert.equal(cleanOwn.status, 200);
  });
});

describe('roles', () => {
  test('read < write < admin, and token management needs an admin over every repository', async () => {
    const read = await upload(srv.url, { name: 'r.bin', data: Buffer.from('r') }, { provider: 'tar', reponame: 'app-roles', name: 'r', version: '1' }, { token: tokens['app-reader'] });
    assert.equal(read.status, 403);
    assert.equal((await upload(srv.url, { name: 'w.bin', data: Buffer.from('w') }, { provider: 'tar', reponame: 'app-roles', name: 'w', version: '1' }, { token: tokens['app-writer'] })).status, 201);
    assert.equal((await call('PATCH', '/api/repos/tar/app-roles/settings', tokens['app-writer'], { keep: 2 })).status, 403, 'settings need admin');
    assert.equal((await call('DELETE', '/api/repos/tar/app-roles/packages/w/1', tokens['app-writer'])).status, 403, 'delete needs admin');
    assert.equal((await call('POST', '/api/repos/tar/app-roles/packages/w/1/yank', tokens['app-writer'], { reason: 'x' })).status, 200, 'yank needs write');
    assert.equal((await call('PATCH', '/api/repos/tar/app-roles/settings', tokens['app-admin'], { keep: 2 })).status, 200);
    for (const [method, path, body] of [['POST', '/api/tokens', { name: 'x', role: 'read' }], ['GET', '/api/tokens', undefined], ['POST', '/api/gc', { dryRun: true }]] as const) {
      assert.equal((await call(method, path, tokens['app-admin'], body)).status, 403, `${method} ${path} needs admin on *`);
    }
  });
});

describe('a private repository answers exactly like a missing one', () => {
  /** The answer with the repository's name taken out, to compare a private and a missing one. */
  const shape = (a: Answer, name: string) => ({ status: a.status, code: a.body.code, error: (a.body.error ?? '').split(name).join('<name>'), wwwAuthenticate: a.wwwAuthenticate });

  const readPaths = (name: string) => [
    `/api/repos/tar/${name}`,
    `/api/repos/tar/${name}/packages`,
    `/api/repos/tar/${name}/packages/secret`,
    `/api/repos/tar/${name}/packages/secret/versions/1`,
    `/api/repos/tar/${name}/status`,
    `/api/repos/tar/${name}/keys`,
    `/repo/tar/${name}/${FILE}`,
    `/repo/tar/${name}/`,
  ];

  test('to anonymous readers: 401 with the same challenge and body for both', async () => {
    const missing = 'No-such-repo';
    const paths = readPaths(PRIVATE);
    const missingPaths = readPaths(missing);
    for (let i = 0; i < paths.length; i++) {
      const p = await call('GET', paths[i]);
      const m = await call('GET', missingPaths[i]);
      assert.equal(p.status, 401, paths[i]);
      assert.match(p.wwwAuthenticate ?? '', /^Basic realm=/, `${paths[i]}: tools and browsers are challenged`);
      assert.deepEqual(shape(p, PRIVATE), shape(m, missing), paths[i]);
    }
    // The web UI too (HTML; same status and challenge).
    const ui = await fetch(`${srv.url}/ui/tar/${PRIVATE}`);
    const uiMissing = await fetch(`${srv.url}/ui/tar/${missing}`);
    assert.equal(ui.status, 401);
    assert.equal(uiMissing.status, 401);
    assert.equal((await ui.text()).split(PRIVATE).join('<name>'), (await uiMissing.text()).split(missing).join('<name>'));
  });

  test('to readers whose token does not cover the name: the same 404 for both', async () => {
    const missing = 'app-nothing';
    const reader = tokens['app-reader'];
    const paths = readPaths(PRIVATE);
    const missingPaths = readPaths(missing);
    for (let i = 0; i < paths.length; i++) {
      const p = await call('GET', paths[i], reader);
      const m = await call('GET', missingPaths[i], reader);
      assert.equal(p.status, 404, paths[i]);
      assert.equal(p.body.code, 'not_found');
      assert.deepEqual(shape(p, PRIVATE), shape(m, missing), paths[i]);
    }
    assert.equal((await fetch(`${srv.url}/ui/tar/${PRIVATE}`, { headers: auth(reader) })).status, 404);
  });

  test('to write and admin tokens whose pattern does not cover the name: the same 403 for both', async () => {
    for (const [method, suffix, body] of [['PATCH', '/settings', { keep: 1 }], ['POST', '/clean', { keep: 1 }], ['DELETE', '/packages/secret/1', undefined], ['POST', '/packages/secret/1/yank', {}]] as const) {
      const p = await call(method, `/api/repos/tar/${PRIVATE}${suffix}`, tokens['other-writer'], body);
      const m = await call(method, `/api/repos/tar/Nope${suffix}`, tokens['other-writer'], body);
      assert.equal(p.status, 403, `${method} ${suffix}`);
      assert.deepEqual(shape(p, PRIVATE), shape(m, 'Nope'), `${method} ${suffix}`);
    }
  });
});
