/** Issue 14: `rpcli repo create --remote/--virtual` and `rpcli repo show`, the real rpcli against a real server. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { getJson, upload } from '../helpers/http';
import { rpcli, oneErrorLine } from './cli-run';

let srv: TestServer;
let env: Record<string, string>;

before(async () => {
  srv = await startServer();
  env = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: ADMIN_TOKEN };
  const r = await upload(srv.url, { name: 'tool-1.tgz', data: Buffer.from('t') }, { provider: 'tar', reponame: 'tools', name: 'tool', version: '1' });
  assert.equal(r.status, 201);
});
after(async () => {
  await srv.stop();
});

test('repo create --remote makes a remote repository; repo show prints its kind', async () => {
  const r = await rpcli(['repo', 'create', '-y', 'pypi', '-r', 'proxy', '--remote', 'http://127.0.0.1:9/simple/', '--ttl', '60'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pypi\/proxy: remote of http:\/\/127\.0\.0\.1:9\/simple\//);
  const api = await getJson(`${srv.url}/api/repos/pypi/proxy`);
  assert.equal(api.body.type, 'remote');
  assert.equal(api.body.remote.metadataTtl, 60);
  const shown = await rpcli(['repo', 'show', '-r', 'proxy'], { env });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /pypi\/proxy: remote/);
  assert.match(shown.stdout, /metadata TTL 60s/);
  assert.match(shown.stdout, /cache: 0 file\(s\)/);
});

test('repo create --virtual lists members; bad members and mixed flags are errors that say why', async () => {
  const up = await upload(srv.url, { name: 'x.tgz', data: Buffer.from('x') }, { provider: 'tar', reponame: 'more', name: 'x', version: '1' });
  assert.equal(up.status, 201);
  const bad = await rpcli(['repo', 'create', '-y', 'pypi', '-r', 'all', '--virtual', 'proxy,missing'], { env });
  assert.equal(bad.code, 1);
  assert.match(oneErrorLine(bad), /member "missing"/);
  const both = await rpcli(['repo', 'create', '-y', 'pypi', '-r', 'all', '--virtual', 'proxy', '--remote', 'http://x/'], { env });
  assert.equal(both.code, 2);
  assert.match(oneErrorLine(both), /exactly one of --remote/);
  const r = await rpcli(['repo', 'create', '-y', 'pypi', '-r', 'all', '--virtual', 'proxy', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).members, ['proxy']);
  const shown = await rpcli(['repo', 'show', '-y', 'pypi', '-r', 'all'], { env });
  assert.match(shown.stdout, /members: proxy/);
  const hosted = await rpcli(['repo', 'show', '-r', 'tools'], { env });
  assert.match(hosted.stdout, /tar\/tools: hosted/);
  assert.match(hosted.stdout, /1 package\(s\)/);
  // tar has no virtual repositories: the server says so.
  const tarVirtual = await rpcli(['repo', 'create', '-y', 'tar', '-r', 'tv', '--virtual', 'tools,more'], { env });
  assert.equal(tarVirtual.code, 1);
  assert.match(oneErrorLine(tarVirtual), /tar has no virtual repositories/);
});
