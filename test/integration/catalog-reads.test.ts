/**
 * Issue 12 part 3: every read of package files goes through one catalog. Checked on the real
 * database (SQLite, or MariaDB with TEST_DB=mysql) with the SQL it sends recorded:
 * - PEP 503 lookups through the stored name key (`Acme_Core` and `acme.core` are one project);
 * - reads of a package, lists, search and status never select the `entry` column;
 * - retention after an upload reads only that package's rows;
 * - /api/repos and package lists page in SQL with aggregate totals;
 * - the SQL form of the read rule lists exactly the repositories `canRead` allows.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Catalog } from '../../src/core/catalog';
import type { Principal } from '../../src/core/tokens';
import { startServer, type TestServer } from '../helpers/server';
import { auth, getJson, upload } from '../helpers/http';
import { fileSelects, queriesDuring, readsEntry } from '../helpers/query-log';
import { makeWheel, metadataText, tmpDir } from '../unit/pypi/helpers';
import { getHtml, links, tableRows, textOf } from './ui-html';

const dir = tmpDir();
let srv: TestServer;
let wheels: { first: string; second: string; other: string };

const api = (p: string) => `${srv.url}/api${p}`;
const tarUpload = async (repo: string, name: string, version: string, data = Buffer.from(`${name} ${version}\n`)) => {
  const r = await upload(srv.url, { name: `${name}-${version}.tar.gz`, data }, { provider: 'tar', reponame: repo, name, version });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as { size: number };
};
const patchSettings = async (p: string, body: unknown) => {
  const r = await fetch(api(`/repos/${p}/settings`), { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.text());
};

before(async () => {
  // Built before the server starts: building a wheel blocks this process (see pypi-upload.test.ts).
  wheels = {
    first: makeWheel(fs.mkdtempSync(path.join(dir, 'w-')), 'Acme_Core-1.0-py3-none-any.whl', metadataText('Acme_Core', '1.0', 'Summary: the core\n')),
    second: makeWheel(fs.mkdtempSync(path.join(dir, 'w-')), 'acme_core-2.0-py3-none-any.whl', metadataText('acme.core', '2.0', 'Summary: the core, again\n')),
    other: makeWheel(fs.mkdtempSync(path.join(dir, 'w-')), 'acme_core_extras-1.0-py3-none-any.whl', metadataText('acme-core-extras', '1.0', 'Requires-Dist: Acme.Core\n')),
  };
  srv = await startServer();
  for (const w of Object.values(wheels)) {
    const r = await upload(srv.url, w, { reponame: 'py' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
});
after(async () => {
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('PEP 503 names through the stored name key', () => {
  test('every spelling finds both files of the project, in one indexed lookup', async () => {
    for (const spelling of ['acme-core', 'Acme_Core', 'ACME.core', 'acme__core']) {
      const r = await getJson(api(`/repos/pypi/py/packages/${encodeURIComponent(spelling)}`));
      assert.equal(r.status, 200, spelling);
      assert.deepEqual(r.body.versions.map((v: { version: string }) => v.version), ['2.0', '1.0'], spelling);
      assert.deepEqual(r.body.versions.flatMap((v: { files: { filename: string }[] }) => v.files.map((f) => f.filename)).sort(), ['Acme_Core-1.0-py3-none-any.whl', 'acme_core-2.0-py3-none-any.whl']);
    }
    const queries = await queriesDuring(srv.services.db.ds, () => getJson(api('/repos/pypi/py/packages/ACME.core')));
    const reads = fileSelects(queries);
    assert.equal(reads.length, 1, reads.map((q) => q.sql).join('\n'));
    assert.match(reads[0].sql, /name_key/);
    assert.ok(reads[0].params.includes('acme-core'), `looked up by the normalized key: ${JSON.stringify(reads[0].params)}`);
    // A different project whose key only starts the same is not mixed in.
    assert.equal((await getJson(api('/repos/pypi/py/packages/acme-core-extras'))).body.total, 1);
  });

  test('one version, the package list, the UI page and its dependency link agree', async () => {
    const one = await getJson(api('/repos/pypi/py/packages/Acme.Core/versions/1.0'));
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.files.map((f: { filename: string }) => f.filename), ['Acme_Core-1.0-py3-none-any.whl']);
    const list = await getJson(api('/repos/pypi/py/packages'));
    assert.equal(list.body.total, 2, 'two projects, not three spellings');
    assert.deepEqual(list.body.packages.map((p: { name: string; versions: number }) => [p.name, p.versions]), [['acme.core', 2], ['acme-core-extras', 1]]);
    const html = await (await fetch(`${srv.url}/ui/pypi/py/acme-core-extras`)).text();
    assert.match(html, /href="\/ui\/pypi\/py\/(acme\.core|Acme_Core)"/, 'Requires-Dist: Acme.Core links to the stored project');
  });

  test('yank and delete find the project by any spelling', async () => {
    let r = await fetch(api('/repos/pypi/py/packages/ACME_CORE/1.0/yank'), { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: '{"reason":"old"}' });
    assert.equal(r.status, 200, await r.text());
    const status = await getJson(api('/repos/pypi/py/status'));
    assert.equal(status.body.yanked, 1);
    r = await fetch(api('/repos/pypi/py/packages/acme.core/1.0/yank'), { method: 'DELETE', headers: auth() });
    assert.equal(r.status, 200);
    assert.equal((await getJson(api('/repos/pypi/py/status'))).body.yanked, 0);
  });
});

describe('reads of packages never load index entries', () => {
  test('the detector sees `entry` where it is read: the publisher reads it', async () => {
    const w = makeWheel(fs.mkdtempSync(path.join(dir, 'w-')), 'probe-1.0-py3-none-any.whl', metadataText('probe', '1.0'));
    const queries = await queriesDuring(srv.services.db.ds, () => upload(srv.url, w, { reponame: 'py' }));
    assert.ok(fileSelects(queries).some(readsEntry), 'publishing the project page selects f.entry');
  });

  test('package, version, list, search, status, repository and UI reads select light columns only', async () => {
    const urls = [
      api('/repos'),
      api('/repos/pypi/py'),
      api('/repos/pypi/py/packages'),
      api('/repos/pypi/py/packages?q=core'),
      api('/repos/pypi/py/packages/acme-core'),
      api('/repos/pypi/py/packages/acme-core/versions/2.0'),
      api('/repos/pypi/py/status'),
      api('/search?q=acme'),
      `${srv.url}/`,
      `${srv.url}/search?q=acme`,
      `${srv.url}/ui/pypi/py`,
      `${srv.url}/ui/pypi/py/acme-core`,
      `${srv.url}/ui/pypi/py/plots/size.svg`,
    ];
    for (const url of urls) {
      let status = 0;
      const queries = await queriesDuring(srv.services.db.ds, async () => {
        status = (await fetch(url, { headers: auth() })).status;
      });
      assert.equal(status, 200, url);
      const reads = fileSelects(queries);
      assert.ok(reads.length > 0, `${url} reads files`);
      assert.deepEqual(reads.filter(readsEntry).map((q) => q.sql), [], url);
      assert.ok(reads.every((q) => !/attachments/.test(q.sql)), url);
    }
  });
});

describe('retention, lists and totals in SQL', () => {
  test('an upload with `keep` reads only its own package; other packages stay', async () => {
    await tarUpload('ret', 'big', '1.0');
    await tarUpload('ret', 'small', '1.0');
    await patchSettings('tar/ret', { keep: 2 });
    await tarUpload('ret', 'small', '2.0');
    const queries = await queriesDuring(srv.services.db.ds, () => tarUpload('ret', 'small', '3.0'));
    const reads = fileSelects(queries);
    // Every files read of the upload is narrowed to a path, an id or this package's key.
    for (const q of reads) assert.match(q.sql, /path|name_key|["`.]id["`]?\s*=/, q.sql);
    assert.ok(reads.some((q) => /name_key/.test(q.sql) && q.params.includes('small')), 'retention looked up "small" by key');
    const small = await getJson(api('/repos/tar/ret/packages/small'));
    assert.deepEqual(small.body.versions.map((v: { version: string }) => v.version), ['3.0', '2.0']);
    assert.equal((await getJson(api('/repos/tar/ret/packages/big'))).body.total, 1);
  });

  test('/api/repos pages in SQL; totals are aggregates that match what was stored', async () => {
    const sizes: number[] = [];
    for (const v of ['1', '2', '3']) sizes.push((await tarUpload('zz-stats', 'one', v, Buffer.alloc(100 * Number(v), 1))).size);
    sizes.push((await tarUpload('zz-stats', 'two', '1', Buffer.alloc(7, 2))).size);
    const all = await getJson(api('/repos?limit=1000'));
    const names = all.body.repos.map((r: { provider: string; name: string }) => `${r.provider}/${r.name}`);
    assert.deepEqual(names, [...names].sort(), 'ordered by provider, then name');
    assert.equal(all.body.total, names.length);
    const queries = await queriesDuring(srv.services.db.ds, async () => {
      const pg = await getJson(api('/repos?limit=1&offset=1'));
      assert.equal(pg.body.total, all.body.total);
      assert.deepEqual(pg.body.repos.map((r: { provider: string; name: string }) => `${r.provider}/${r.name}`), names.slice(1, 2));
    });
    assert.ok(queries.some((q) => /FROM\s+["`]?repos/i.test(q.sql) && /LIMIT/i.test(q.sql)), 'the page is cut by LIMIT');
    assert.ok(queries.some((q) => /FROM\s+["`]?repos/i.test(q.sql) && /COUNT\(/i.test(q.sql)), 'the total is a COUNT');
    for (const q of fileSelects(queries)) assert.match(q.sql, /GROUP BY/i, `files are only aggregated: ${q.sql}`);
    const st = all.body.repos.find((r: { name: string }) => r.name === 'zz-stats');
    assert.deepEqual({ packages: st.packages, files: st.files, size: st.size }, { packages: 2, files: 4, size: sizes.reduce((a, b) => a + b, 0) });
    const status = await getJson(api('/repos/tar/zz-stats/status'));
    assert.deepEqual(
      { packages: status.body.packages, versions: status.body.versions, files: status.body.files, totalSize: status.body.totalSize, perArch: status.body.perArch, yanked: status.body.yanked },
      { packages: 2, versions: 4, files: 4, totalSize: sizes.reduce((a, b) => a + b, 0), perArch: {}, yanked: 0 },
    );
  });

  test('a package list page loads the rows of that page\'s packages only', async () => {
    for (let i = 0; i < 7; i++) await tarUpload('paged', `p${i}`, '1.0');
    await tarUpload('paged', 'p4', '1.1');
    let body: { total: number; packages: { name: string; versions: number }[] } = { total: 0, packages: [] };
    const queries = await queriesDuring(srv.services.db.ds, async () => {
      body = (await getJson(api('/repos/tar/paged/packages?limit=3&offset=3'))).body;
    });
    assert.equal(body.total, 7);
    assert.deepEqual(body.packages.map((p) => [p.name, p.versions]), [['p3', 1], ['p4', 2], ['p5', 1]]);
    const reads = fileSelects(queries);
    assert.ok(reads.some((q) => /LIMIT/i.test(q.sql)), 'the page of names is cut in SQL');
    const rowReads = reads.filter((q) => /name_key["`]?\s+IN/i.test(q.sql));
    assert.equal(rowReads.length, 1);
    assert.deepEqual(rowReads[0].params.filter((p) => typeof p === 'string').sort(), ['p3', 'p4', 'p5']);
    const past = await getJson(api('/repos/tar/paged/packages?limit=3&offset=30'));
    assert.deepEqual([past.body.total, past.body.packages.length], [7, 0]);
    // limit and offset end up in SQL: odd numbers must not reach it as they are.
    const odd = await getJson(api('/repos/tar/paged/packages?limit=2.7&offset=1.5'));
    assert.equal(odd.status, 200);
    assert.deepEqual(odd.body.packages.map((p: { name: string }) => p.name), ['p1', 'p2']);
    for (const url of [api('/repos/tar/paged/packages?offset=1e30'), api('/repos?offset=1e30&limit=1e30'), api('/repos?offset=-5&limit=-1')]) {
      const r = await getJson(url);
      assert.equal(r.status, 200, `${url}: ${JSON.stringify(r.body)}`);
    }
    assert.equal((await getJson(api('/repos?offset=1e30'))).body.repos.length, 0);
    assert.equal((await fetch(`${srv.url}/ui/tar/paged?page=99999999999999999999`)).status, 200);
  });
});

describe('UI lists page in SQL', () => {
  test('the home page shows 50 repositories a page, with their totals, and links the next page', async () => {
    for (let i = 0; i < 52; i++) await srv.services.repos.getOrCreate('tar', `bulk-${String(i).padStart(2, '0')}`);
    const total = (await getJson(api('/repos?limit=1'))).body.total as number;
    assert.ok(total > 50);
    const queries = await queriesDuring(srv.services.db.ds, () => getHtml(`${srv.url}/`));
    assert.ok(queries.some((q) => /FROM\s+["`]?repos/i.test(q.sql) && /LIMIT/i.test(q.sql)), 'the home page cuts its page in SQL');
    const first = await getHtml(`${srv.url}/`);
    assert.equal(tableRows(first.html).length, 50);
    assert.ok(links(first.html).includes('/?page=2'));
    const last = await getHtml(`${srv.url}/?page=2`);
    const rows = tableRows(last.html);
    assert.equal(rows.length, total - 50);
    const stats = rows.find((r) => r[0] === 'zz-stats');
    assert.ok(stats, 'zz-stats sorts onto the last page');
    assert.deepEqual(stats.slice(2, 4), ['2', '4'], 'its packages and files, by aggregate');
    const past = await getHtml(`${srv.url}/?page=99`);
    assert.match(textOf(past.html), /Page 2 of 2/, 'a page past the end shows the last page');
    assert.deepEqual(tableRows(past.html), rows);
  });
});

describe('the read rule as SQL lists exactly what canRead allows', () => {
  const repos = [
    ['tar', 'team-a', false], ['tar', 'team-b', true], ['tar', 'Team-c', true], ['tar', 'axb', true],
    ['tar', 'a_b', true], ['tar', 'open', false], ['apt', 'team-d', true],
  ] as const;

  test('for every combination of PUBLIC_READ, private settings and token patterns', async () => {
    for (const [provider, name, priv] of repos) {
      await srv.services.repos.getOrCreate(provider, name);
      const repo = await srv.services.repos.get(provider, name);
      await srv.services.repos.updateSettings(repo, { private: priv ? true : null, description: priv ? null : 'x","private":true' });
    }
    const principals: (Principal | undefined)[] = [
      undefined,
      { tokenId: 1, name: 'r', role: 'read', repoPattern: 'team-*' },
      { tokenId: 2, name: 'w', role: 'write', repoPattern: 'a_b' },
      { tokenId: 3, name: 'c', role: 'read', repoPattern: 'Team-*' },
      { tokenId: 4, name: 'x', role: 'read', repoPattern: '*b' },
      { tokenId: null, name: 'admin', role: 'admin', repoPattern: '*' },
    ];
    let checked = 0;
    for (const publicRead of [true, false]) {
      const catalog = new Catalog(srv.services.db, publicRead);
      const every = await srv.services.repos.list();
      for (const p of principals) {
        const expected = every.filter((r) => catalog.canRead(p, r)).map((r) => `${r.provider}/${r.name}`);
        const listed = (await catalog.visibleRepos(p)).map((r) => `${r.provider}/${r.name}`);
        assert.deepEqual(listed, expected, `PUBLIC_READ=${publicRead} ${p?.repoPattern ?? 'anonymous'}`);
        const pageOf = await catalog.listRepos(p, { limit: 2, offset: 1 });
        assert.equal(pageOf.total, expected.length);
        assert.deepEqual(pageOf.repos.map(({ repo }) => `${repo.provider}/${repo.name}`), expected.slice(1, 3));
        checked += expected.length;
      }
    }
    assert.ok(checked > 0);
    // Spot checks that the matrix exercises both sides of each rule.
    const anon = (await new Catalog(srv.services.db, true).visibleRepos(undefined)).map((r) => r.name);
    assert.ok(anon.includes('open') && !anon.includes('team-b') && !anon.includes('a_b'));
    const underscore = (await new Catalog(srv.services.db, false).visibleRepos(principals[2])).map((r) => r.name);
    assert.deepEqual(underscore, ['a_b'], '"_" in a pattern is literal, not a LIKE wildcard (axb stays hidden)');
    const upper = (await new Catalog(srv.services.db, false).visibleRepos(principals[3])).map((r) => r.name);
    assert.deepEqual(upper, ['Team-c'], 'patterns match case-sensitively');
  });

  test('over HTTP: a private repository is hidden from /api/repos and refused without a token', async () => {
    const anon = await getJson(api('/repos?limit=1000'));
    assert.ok(!anon.body.repos.some((r: { name: string }) => r.name === 'team-b'));
    assert.equal((await getJson(api('/repos/tar/team-b'))).status, 401);
    assert.equal((await getJson(api('/repos/tar/team-b/status'))).status, 401);
    assert.equal((await fetch(`${srv.url}/ui/tar/team-b`)).status, 401);
    const admin = await getJson(api('/repos?limit=1000'), auth());
    assert.ok(admin.body.repos.some((r: { name: string }) => r.name === 'team-b'));
  });
});
