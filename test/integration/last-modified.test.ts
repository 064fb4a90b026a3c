/**
 * Last-Modified of index files is not in the future for a plain GET, later than the client's
 * date on revalidation, and a client never gets a stale 304: a burst stamps each generation a
 * second after the previous one (src/core/publisher.ts), so the newest stamp runs ahead of the
 * clock; src/http/send-blob.ts then says `now` and answers in full until the stamp is reached.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server';
import { upload } from '../helpers/http';
import { synthDeb } from './apt-tools';

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

const deb = (v: string) => ({ name: `burst_${v}_amd64.deb`, data: synthDeb(`Package: burst\nVersion: ${v}\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: burst\n`) });

test('after a burst of publishes Last-Modified <= Date, and If-Modified-Since never yields a stale 304', { timeout: 60_000 }, async () => {
  const url = `${srv.url}/repo/apt/burst/dists/stable/InRelease`;
  const seen: { lm: string; body: string }[] = [];
  for (const v of ['1.0', '1.1', '1.2', '1.3']) {
    const r = await upload(srv.url, deb(v), { provider: 'apt', reponame: 'burst' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const res = await fetch(url);
    const lm = res.headers.get('last-modified')!;
    assert.ok(Date.parse(lm) <= Date.parse(res.headers.get('date')!), `Last-Modified ${lm} is after Date ${res.headers.get('date')}`);
    seen.push({ lm, body: await res.text() });
  }
  const newest = seen.at(-1)!;
  assert.equal(new Set(seen.map((x) => x.body)).size, seen.length, 'each upload published a new InRelease');
  // Every earlier copy's date gets the newest InRelease, in full.
  for (const old of seen.slice(0, -1)) {
    const res = await fetch(url, { headers: { 'If-Modified-Since': old.lm } });
    assert.equal(res.status, 200, `If-Modified-Since ${old.lm}`);
    // Later than the client's date, or libcurl (pacman, dnf) would drop the body as not new enough.
    assert.ok(Date.parse(res.headers.get('last-modified')!) > Date.parse(old.lm), `Last-Modified ${res.headers.get('last-modified')} after ${old.lm}`);
    assert.equal(await res.text(), newest.body);
  }
  // Once the clock passes the newest stamp, revalidation gives 304 again.
  const stamped = (await srv.services.db.manager.query("SELECT MAX(created_at) AS t FROM generations")) as { t: number | string }[];
  const wait = Number(stamped[0]!.t) - Date.now() + 50;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const current = await fetch(url);
  const lm = current.headers.get('last-modified')!;
  assert.equal(Date.parse(lm), Math.floor(Number(stamped[0]!.t) / 1000) * 1000);
  assert.equal((await fetch(url, { headers: { 'If-Modified-Since': lm } })).status, 304);
});
