/**
 * A file and its detached signature come from one generation on a connection
 * (Provider.indexPartners, src/http/repo-router.ts): dnf reads repomd.xml then repomd.xml.asc,
 * zypper the other way round, on one keep-alive connection. A publish between the two requests
 * must not pair one generation's repomd.xml with the next one's signature.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as openpgp from 'openpgp';
import { startServer, type TestServer } from '../helpers/server';
import { upload } from '../helpers/http';
import { haveRpmTools, rpmbuild, tmpDir } from '../unit/rpm/helpers';

let srv: TestServer;
let T: string;
const skip = haveRpmTools ? false : 'rpmbuild is not installed';

before(async () => {
  T = tmpDir('sigpairs-');
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

/** GET over the given agent (one socket, kept alive): bytes and the local port it used. */
function get(agent: http.Agent, url: string): Promise<{ status: number; body: Buffer; port: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const port = res.socket.localPort!;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), port }));
      })
      .on('error', reject);
  });
}

async function verifies(data: Buffer, armoredSignature: Buffer, armoredKey: string): Promise<boolean> {
  const result = await openpgp.verify({
    message: await openpgp.createMessage({ binary: data }),
    signature: await openpgp.readSignature({ armoredSignature: armoredSignature.toString() }),
    verificationKeys: await openpgp.readKey({ armoredKey }),
  });
  try {
    await result.signatures[0]!.verified;
    return true;
  } catch {
    return false;
  }
}

test('repomd.xml, a publish, then repomd.xml.asc on the same connection: the signature matches what the client holds', { skip, timeout: 120_000 }, async () => {
  const repo = `${srv.url}/repo/rpm/pairs`;
  const first = rpmbuild({ name: 'pair-one', version: '1.0', arch: 'noarch' }, T).rpm;
  const second = rpmbuild({ name: 'pair-two', version: '1.0', arch: 'noarch' }, T).rpm;
  assert.equal((await upload(srv.url, first, { provider: 'rpm', reponame: 'pairs' })).status, 201);
  const key = await (await fetch(`${repo}/pubkey`)).text();

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const repomd = await get(agent, `${repo}/repodata/repomd.xml`);
    assert.equal(repomd.status, 200);
    assert.equal((await upload(srv.url, second, { provider: 'rpm', reponame: 'pairs' })).status, 201);
    const asc = await get(agent, `${repo}/repodata/repomd.xml.asc`);
    assert.equal(asc.port, repomd.port, 'the same connection');
    assert.ok(await verifies(repomd.body, asc.body, key), 'the signature is the one of the repomd.xml this connection read');

    // A new connection sees the new generation, consistent with itself; the old repomd.xml's
    // signature is not what it gets: without the pin the pair above would not have verified.
    const fresh = await fetch(`${repo}/repodata/repomd.xml.asc`).then(async (r) => Buffer.from(await r.arrayBuffer()));
    assert.ok(!(await verifies(repomd.body, fresh, key)), 'a publish did happen in between');
    const newRepomd = Buffer.from(await (await fetch(`${repo}/repodata/repomd.xml`)).arrayBuffer());
    assert.ok(await verifies(newRepomd, fresh, key));

    // The pin is spent once used: the connection's next repomd.xml is the current one.
    const again = await get(agent, `${repo}/repodata/repomd.xml`);
    assert.equal(again.port, repomd.port);
    assert.ok(again.body.equals(newRepomd), 'read-after-write on a kept-alive connection');
  } finally {
    agent.destroy();
  }
});
