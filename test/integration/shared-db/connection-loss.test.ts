/**
 * Issue 7: losing database connections is survived. Every connection the server holds (query
 * pool and lock session) is killed server-side (what a database restart, a failover or an
 * idle timeout does); the next requests must work without a restart, and /healthz must
 * report the database state. Runs on MariaDB (TEST_DB=mysql, or unset) and PostgreSQL
 * (TEST_DB=postgres).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../../helpers/server';
import { killDatabaseConnections, sharedDbKind } from '../../helpers/test-db';
import { upload, getJson } from '../../helpers/http';

const kind = sharedDbKind();
let srv: TestServer;

before(async () => {
  srv = await startServer({ db: kind });
});
after(async () => {
  await srv.stop();
});

const killServerConnections = () => killDatabaseConnections(srv.env.DATABASE_URL);

test('requests keep working after every database connection is killed', async () => {
  const first = await upload(srv.url, { name: 'a.bin', data: Buffer.from('a') }, { provider: 'tar', reponame: 'conn', name: 'a', version: '1' });
  assert.equal(first.status, 201);
  const killed = await killServerConnections();
  assert.ok(killed > 0, 'the server had open connections to kill');
  await new Promise((r) => setTimeout(r, 200));
  // A dead pooled connection may fail one request at most; the pool must heal by itself.
  let health = await getJson(`${srv.url}/healthz`);
  if (health.status !== 200) health = await getJson(`${srv.url}/healthz`);
  assert.equal(health.status, 200, JSON.stringify(health.body));
  const again = await upload(srv.url, { name: 'b.bin', data: Buffer.from('b') }, { provider: 'tar', reponame: 'conn', name: 'b', version: '1' });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  const list = await getJson(`${srv.url}/api/repos/tar/conn/packages`);
  assert.deepEqual(list.body.packages.map((p: { name: string }) => p.name), ['a', 'b']);
});

test('/healthz answers 503 with the reason while the database is unreachable', async () => {
  // Simulate an outage by pointing a second server at a port where nothing listens.
  const down = await startServer({ db: kind });
  try {
    await down.services.db.ds.destroy();
    const h = await getJson(`${down.url}/healthz`);
    assert.equal(h.status, 503);
    assert.match(h.body.checks.database, /^error: /);
  } finally {
    await down.services.db.ds.initialize();
    await down.stop();
  }
});
