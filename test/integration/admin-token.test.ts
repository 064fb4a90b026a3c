/** Issue 2: without ADMIN_TOKEN a token is generated at first start, written 0600, logged once, and reused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from '../helpers/server';
import { upload } from '../helpers/http';

test('a generated admin token is written to DATA_DIR/admin-token (0600), logged once, and works', async () => {
  const logLines: string[] = [];
  const srv = await startServer({ env: { ADMIN_TOKEN: '' }, logLines });
  try {
    const file = path.join(srv.dataDir, 'admin-token');
    const token = fs.readFileSync(file, 'utf8').trim();
    assert.match(token, /^ad_[A-Za-z0-9_-]{32}$/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const logged = logLines.map((l) => JSON.parse(l)).filter((l) => l.adminToken);
    assert.equal(logged.length, 1);
    assert.equal(logged[0].adminToken, token);
    const ok = await upload(srv.url, { name: 'x.bin', data: Buffer.from('x') }, { provider: 'tar', reponame: 'gen', name: 'x', version: '1' }, { token });
    assert.equal(ok.status, 201);
    const no = await upload(srv.url, { name: 'y.bin', data: Buffer.from('y') }, { provider: 'tar', reponame: 'gen', name: 'y', version: '1' });
    assert.equal(no.status, 401, 'the test default token is not an admin here');
  } finally {
    await srv.stop();
  }
});
