/**
 * Issue 7: losing MySQL connections is survived. Every connection the server holds is
 * killed server-side (what a MySQL restart, a failover or an idle timeout does); the next
 * requests must work without a restart, and /healthz must report the database state.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DataSource } from 'typeorm';
import { startServer, type TestServer } from '../../helpers/server';
import { MYSQL_ROOT_URL } from '../../helpers/mysql';
import { upload, getJson } from '../../helpers/http';

let srv: TestServer;
let admin: DataSource;

before(async () => {
  srv = await startServer({ db: 'mysql' });
  const u = new URL(MYSQL_ROOT_URL);
  admin = new DataSource({ type: 'mysql', host: u.hostname, port: Number(u.port || 3306), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) });
  await admin.initialize();
});
after(async () => {
  await admin.destroy();
  await srv.stop();
});

async function killServerConnections(): Promise<number> {
  const db = new URL(srv.env.DATABASE_URL).pathname.slice(1);
  const rows = (await admin.query('SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?', [db])) as { ID: number }[];
  for (const r of rows) await admin.query(`KILL ${Number(r.ID)}`).catch(() => undefined);
  return rows.length;
}

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
  const down = await startServer({ db: 'mysql' });
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
