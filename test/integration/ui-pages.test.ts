/**
 * Issue 8 without a browser: every page is complete server-rendered HTML (works without
 * JavaScript), hostile text is escaped, versions are ordered as the format's own tool orders
 * them (dpkg --compare-versions), downloads and dependency links work, 404s are HTML pages,
 * plots are well-formed SVG (checked by Python's XML parser), the read API paginates.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stepChart } from '../../src/http/ui/svg-chart';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { auth, getJson, upload } from '../helpers/http';
import { startStaticUpstream } from '../helpers/static-upstream';
import { makeDeb, seed, XSS_ATTR, XSS_SCRIPT, type Seeded } from './ui-fixtures';
import { getHtml, links, snippets, tableRows, textOf } from './ui-html';

let srv: TestServer;
let dir: string;
let seeded: Seeded;

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-pages-'));
  seeded = await seed(srv.url, dir);
});
after(async () => {
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const dpkgGreater = (a: string, b: string) => spawnSync('dpkg', ['--compare-versions', a, 'gt', b]).status === 0;

/** Parse with Python's XML parser (an independent check of well-formedness); returns title and desc. */
function parseSvg(svg: string): { root: string; title: string; desc: string } {
  const script = 'import sys, json, xml.etree.ElementTree as E\nr = E.fromstring(sys.stdin.read())\nns = "{http://www.w3.org/2000/svg}"\nprint(json.dumps({"root": r.tag, "title": r.find(ns + "title").text, "desc": r.find(ns + "desc").text}))';
  return JSON.parse(execFileSync('python3', ['-c', script], { input: svg, encoding: 'utf8' }));
}

describe('pages as HTML (no JavaScript needed)', () => {
  test('home lists every repository with its package count and a labelled search box', async () => {
    const { status, html, headers } = await getHtml(`${srv.url}/`);
    assert.equal(status, 200);
    assert.match(headers.get('content-type')!, /^text\/html/);
    assert.match(headers.get('content-security-policy')!, /script-src 'self'/);
    assert.match(html, /<a class="skip-link" href="#main">/);
    assert.match(html, /<main id="main"/);
    assert.match(html, /<label for="site-search"[^>]*>Search packages<\/label>/);
    const rows = tableRows(html);
    const byName = new Map(rows.map((r) => [r[0], r]));
    assert.deepEqual([...byName.keys()].sort(), ['debs', 'py', 'tools']);
    assert.equal(byName.get('debs')![2], '4'); // libfoo, foo-tools, evil, widget
    assert.equal(byName.get('py')![2], '3');
    assert.equal(byName.get('tools')![2], '1');
    assert.equal(byName.get('tools')![3], '3'); // files
    for (const r of ['/ui/apt/debs', '/ui/pypi/py', '/ui/tar/tools']) assert.ok(links(html).includes(r), r);
  });

  test('search finds names and descriptions across repositories, case-insensitively', async () => {
    // The first cell is the name followed by the description.
    const name = (r: string[]) => r[0].split(' ')[0];
    let rows = tableRows((await getHtml(`${srv.url}/search?q=FROBNICATING`)).html);
    assert.deepEqual(rows.map(name), ['libfoo']);
    rows = tableRows((await getHtml(`${srv.url}/search?q=evil`)).html);
    assert.deepEqual(rows.map((r) => `${name(r)}@${r[2]}`).sort(), ['evil-py@py pypi', 'evil@debs apt']);
    // The header form submits to /search; the home page with ?q= answers the same way.
    assert.deepEqual(tableRows((await getHtml(`${srv.url}/?q=idna`)).html).map(name), ['idna-lite']);
    // SQL LIKE wildcards are literal characters here.
    for (const q of ['%', 'e_il', 'wid%et']) assert.match(textOf((await getHtml(`${srv.url}/search?q=${encodeURIComponent(q)}`)).html), /0 packages match/, q);
  });

  test('a hostile search query is shown as text, never as markup', async () => {
    for (const q of [XSS_SCRIPT, XSS_ATTR]) {
      const { status, html } = await getHtml(`${srv.url}/search?q=${encodeURIComponent(q)}`);
      assert.equal(status, 200);
      assert.ok(!html.includes('<script>window'), 'no raw script tag');
      assert.ok(!html.includes('<img src=x'), 'no raw img tag');
      assert.ok(!/value="[^"]*"><img/.test(html), 'the value attribute is not broken out of');
      assert.ok(textOf(html).includes(q), 'the query text is shown');
    }
  });

  test('hostile package descriptions are escaped on every page that shows them', async () => {
    for (const p of ['/ui/apt/debs', '/ui/apt/debs/evil', '/ui/pypi/py/evil-py', '/search?q=evil', '/ui/pypi/py']) {
      const { html } = await getHtml(srv.url + p);
      assert.ok(!html.includes('<script>window'), p);
      assert.ok(!html.includes('<img src=x'), p);
      assert.ok(textOf(html).includes(XSS_SCRIPT), `${p} shows the description as text`);
    }
    // A javascript: homepage is shown but never becomes a link.
    const { html } = await getHtml(`${srv.url}/ui/apt/debs/evil`);
    assert.ok(textOf(html).includes('javascript:alert(1)'));
    assert.ok(!links(html).some((l) => /^\s*javascript:/i.test(l)));
  });

  test('repository page: newest version per the format order, links, and a filter', async () => {
    const { html } = await getHtml(`${srv.url}/ui/apt/debs`);
    const widget = tableRows(html).find((r) => r[0].startsWith('widget'))!;
    // 1.0~rc1 was uploaded last; dpkg says which is newer.
    const newest = dpkgGreater('1.0', '1.0~rc1') ? '1.0' : '1.0~rc1';
    assert.equal(widget[1], newest);
    assert.equal(widget[3], '2');
    assert.ok(links(html).includes('/repo/apt/debs/'), 'links the directory listing');
    assert.equal((await fetch(`${srv.url}/repo/apt/debs/`)).status, 200);
    const tools = tableRows((await getHtml(`${srv.url}/ui/tar/tools`)).html);
    assert.ok(dpkgGreater('1.10', '1.9'));
    assert.equal(tools[0][1], '1.10');
    const filtered = tableRows((await getHtml(`${srv.url}/ui/apt/debs?q=frob`)).html);
    assert.deepEqual(filtered.map((r) => r[0].split(' ')[0]), ['libfoo']);
  });

  test('the apt setup snippets name a keyring that verifies the published InRelease (gpgv)', async () => {
    const sn = snippets((await getHtml(`${srv.url}/ui/apt/debs`)).html);
    const keyLine = [...sn.values()].join('\n').match(/curl -fsSL (\S+keyring\.gpg)/);
    assert.ok(keyLine, [...sn.keys()].join(', '));
    const sources = [...sn.values()].find((c) => c.startsWith('Types: deb'))!;
    assert.match(sources, /^Signed-By: \/etc\/apt\/keyrings\/debs\.gpg$/m);
    const uri = /^URIs: (\S+)$/m.exec(sources)![1];
    const suite = /^Suites: (\S+)$/m.exec(sources)![1];
    const keyring = path.join(dir, 'debs.gpg');
    fs.writeFileSync(keyring, Buffer.from(await (await fetch(keyLine[1])).arrayBuffer()));
    const inrelease = path.join(dir, 'InRelease');
    fs.writeFileSync(inrelease, Buffer.from(await (await fetch(`${uri}/dists/${suite}/InRelease`)).arrayBuffer()));
    const r = spawnSync('gpgv', ['--keyring', keyring, inrelease], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  test('the pip snippet points at an index that lists the repository projects', async () => {
    const sn = snippets((await getHtml(`${srv.url}/ui/pypi/py`)).html);
    const pip = [...sn.values()].find((c) => c.startsWith('pip install'))!;
    const index = /--index-url (\S+)/.exec(pip)![1];
    const page = await fetch(`${index}idna-lite/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /idna_lite-0\.1-py3-none-any\.whl/);
  });

  test('repository page paginates its package table', async () => {
    for (let i = 0; i < 53; i++) {
      const r = await upload(srv.url, { name: `p${i}.bin`, data: Buffer.from(String(i)) }, { provider: 'tar', reponame: 'many', name: `pkg-${String(i).padStart(2, '0')}`, version: '1' });
      assert.equal(r.status, 201);
    }
    const first = await getHtml(`${srv.url}/ui/tar/many`);
    assert.equal(tableRows(first.html).length, 50);
    assert.ok(links(first.html).includes('/ui/tar/many?page=2'));
    const second = await getHtml(`${srv.url}/ui/tar/many?page=2`);
    assert.deepEqual(tableRows(second.html).map((r) => r[0]), ['pkg-50', 'pkg-51', 'pkg-52']);
    assert.ok(links(second.html).includes('/ui/tar/many'));
  });

  test('package page: versions newest first, files with hashes, working download and dependency links', async () => {
    const { html } = await getHtml(`${srv.url}/ui/apt/debs/widget`);
    const headings = [...html.matchAll(/<h2 id="v-\d+-h">([^<\n]*)/g)].map((m) => m[1].trim());
    assert.deepEqual(headings, dpkgGreater('1.0', '1.0~rc1') ? ['1.0', '1.0~rc1'] : ['1.0~rc1', '1.0']);

    const deb = fs.readFileSync(path.join(dir, 'foo-tools_2.0-1_all.deb'));
    const tools = await getHtml(`${srv.url}/ui/apt/debs/foo-tools`);
    assert.ok(tools.html.includes(sha256(deb)), 'shows the sha256 of the uploaded bytes');
    const download = links(tools.html).find((l) => l.endsWith('.deb'))!;
    assert.ok(Buffer.from(await (await fetch(srv.url + download)).arrayBuffer()).equals(deb));
    assert.ok(links(tools.html).includes('/ui/apt/debs/libfoo'), 'the dependency in the repo is a link');
    assert.equal((await getHtml(`${srv.url}/ui/apt/debs/libfoo`)).status, 200);
    assert.match(textOf(tools.html), /not-here \(not in this repository\)/);
    assert.ok(!links(tools.html).some((l) => l.endsWith('/not-here')));

    // PyPI names match normalized: Requires-Dist "Idna_Lite" links to idna-lite.
    const rq = await getHtml(`${srv.url}/ui/pypi/py/requestz`);
    assert.ok(links(rq.html).includes('/ui/pypi/py/idna-lite'));
    assert.match(textOf(rq.html), /License Apache-2\.0/);
    assert.ok(links(rq.html).includes('https://example.org/requestz'));

    const hello = await getHtml(`${srv.url}/ui/tar/tools/hello`);
    assert.ok(hello.html.includes(sha256(seeded.tarPayload)));
    const tarLink = links(hello.html).find((l) => l.endsWith('hello-1.10.tar.gz'))!;
    assert.ok(Buffer.from(await (await fetch(srv.url + tarLink)).arrayBuffer()).equals(seeded.tarPayload));
  });

  test('yanked (PyPI) and hidden (apt) versions are marked, reasons escaped', async () => {
    const reason = '<b>broken</b> build';
    let r = await fetch(`${srv.url}/api/repos/pypi/py/packages/requestz/1.0/yank`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ reason }) });
    assert.equal(r.status, 200);
    const py = await getHtml(`${srv.url}/ui/pypi/py/requestz`);
    assert.ok(!py.html.includes('<b>broken'));
    assert.ok(textOf(py.html).includes(`yanked: ${reason}`));
    r = await fetch(`${srv.url}/api/repos/apt/debs/packages/widget/1.0~rc1/yank`, { method: 'POST', headers: auth() });
    assert.equal(r.status, 200);
    assert.match(textOf((await getHtml(`${srv.url}/ui/apt/debs/widget`)).html), /1\.0~rc1 yanked hidden from the index/);
  });
});

describe('errors, privacy, plots, API', () => {
  test('unknown repositories, packages and pages are HTML 404 pages; the API keeps JSON', async () => {
    for (const p of ['/ui/apt/missing', '/ui/nosuchformat/debs', '/ui/apt/debs/nope', '/ui/apt/debs/plots/other.svg', '/ui/a/b/c/d/e', '/ui/apt/missing/plots/size.svg']) {
      // Signed in: anonymous visitors get the sign-in challenge for a missing repository, as for a private one.
      const { status, html, headers } = await getHtml(srv.url + p, auth());
      assert.equal(status, 404, p);
      assert.match(headers.get('content-type')!, /^text\/html/, p);
      assert.match(html, /<h1>Not found/, p);
      assert.match(html, /<main id="main"/, p);
    }
    const api = await getJson(`${srv.url}/api/repos/apt/missing`, auth());
    assert.equal(api.status, 404);
    assert.equal(api.body.code, 'not_found');
  });

  test('a private repository is hidden from anonymous visitors and asks for a token', async () => {
    const r = await upload(srv.url, { name: 's.bin', data: Buffer.from('s') }, { provider: 'tar', reponame: 'secret', name: 'classified', version: '1' });
    assert.equal(r.status, 201);
    await srv.services.repos.updateSettings((await srv.services.repos.find('tar', 'secret'))!, { private: true });
    const anon = await getHtml(`${srv.url}/ui/tar/secret`);
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate')!, /^Basic/);
    assert.match(anon.headers.get('content-type')!, /^text\/html/);
    assert.ok(!tableRows((await getHtml(`${srv.url}/`)).html).some((row) => row[0] === 'secret'));
    assert.match(textOf((await getHtml(`${srv.url}/search?q=classified`)).html), /0 packages match/);
    const basic = { Authorization: `Basic ${Buffer.from(`__token__:${ADMIN_TOKEN}`).toString('base64')}` };
    assert.equal((await getHtml(`${srv.url}/ui/tar/secret`, basic)).status, 200);
    assert.deepEqual(tableRows((await getHtml(`${srv.url}/search?q=classified`, basic)).html).map((row) => row[0].split(' ')[0]), ['classified']);
  });

  test('plots are well-formed SVG with a title and a description that state the numbers', async () => {
    const size = await fetch(`${srv.url}/ui/apt/debs/plots/size.svg`);
    assert.equal(size.status, 200);
    assert.match(size.headers.get('content-type')!, /^image\/svg\+xml/);
    const s = parseSvg(await size.text());
    assert.equal(s.root, '{http://www.w3.org/2000/svg}svg');
    assert.equal(s.title, 'Repository size: apt/debs');
    const files = (await getJson(`${srv.url}/api/repos/apt/debs`)).body;
    assert.match(s.desc, new RegExp(`in ${files.files} files`));
    const u = parseSvg(await (await fetch(`${srv.url}/ui/tar/tools/plots/uploads.svg`)).text());
    assert.match(u.desc, /^3 uploads to tar\/tools in the 30 days/);
    // Chart text is escaped: a hostile title survives as text in a well-formed document.
    const hostile = stepChart([{ x: 0, y: 1 }], { title: `${XSS_SCRIPT}&`, desc: XSS_ATTR, yLabel: String, xLabel: String });
    const parsed = parseSvg(hostile);
    assert.equal(parsed.title, `${XSS_SCRIPT}&`);
    assert.equal(parsed.desc, XSS_ATTR);
  });

  test('the read API paginates repositories, packages, versions and search results', async () => {
    const repos = await getJson(`${srv.url}/api/repos?limit=1&offset=1`);
    assert.equal(repos.body.limit, 1);
    assert.equal(repos.body.repos.length, 1);
    assert.ok(repos.body.total >= 4);
    const pk = await getJson(`${srv.url}/api/repos/tar/many/packages?limit=10&offset=50`);
    assert.equal(pk.body.total, 53);
    assert.deepEqual(pk.body.packages.map((p: { name: string }) => p.name), ['pkg-50', 'pkg-51', 'pkg-52']);
    const versions = await getJson(`${srv.url}/api/repos/tar/tools/packages/hello?limit=2`);
    assert.equal(versions.body.total, 3);
    assert.deepEqual(versions.body.versions.map((v: { version: string }) => v.version), ['1.10', '1.9']);
    const one = await getJson(`${srv.url}/api/repos/tar/tools/packages/hello/versions/1.10`);
    assert.equal(one.body.files[0].sha256, sha256(seeded.tarPayload));
    const found = await getJson(`${srv.url}/api/search?q=pkg-&limit=5&offset=50`);
    assert.equal(found.body.total, 53);
    assert.equal(found.body.results.length, 3);
    assert.equal((await getJson(`${srv.url}/api/search?q=FROB`)).body.results[0].name, 'libfoo');
  });
});

describe('remote and virtual repositories', () => {
  test('a remote repository page shows upstream, cache figures and every cached file with its origin and fetch time', async () => {
    const own = await startServer();
    const upDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-remote-'));
    const payload = crypto.randomBytes(4096);
    fs.mkdirSync(path.join(upDir, 'rel'));
    fs.writeFileSync(path.join(upDir, 'rel', 'tool-1.0.tar.gz'), payload);
    const upstream = await startStaticUpstream(upDir);
    try {
      const put = (name: string, body: unknown) => fetch(`${own.url}/api/repos/tar/${name}`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal((await put('mirror', { type: 'remote', upstream: `${upstream.url}/`, cacheMaxBytes: 1 << 20 })).status, 201);
      const empty = await getHtml(`${own.url}/ui/tar/mirror`);
      assert.equal(empty.status, 200);
      assert.match(textOf(empty.html), /Nothing is cached yet/);
      const before = Date.now();
      for (let i = 0; i < 2; i++) await (await fetch(`${own.url}/repo/tar/mirror/rel/tool-1.0.tar.gz`)).arrayBuffer();
      const { status, html } = await getHtml(`${own.url}/ui/tar/mirror`);
      assert.equal(status, 200);
      const text = textOf(html);
      assert.match(text, new RegExp(`Remote repository: a pull-through cache of ${upstream.url}/`));
      assert.match(text, /Cached package files 1 · 4\.0 KiB of at most 1\.0 MiB/);
      assert.match(text, /Hits \/ misses 1 \/ 1 \(50% served from the cache\)/);
      assert.ok(!/Upload to mirror/.test(text), 'no upload button: uploads into a remote are refused');
      const rows = tableRows(html);
      assert.equal(rows.length, 1);
      const [file, kind, , origin, fetched] = rows[0]!;
      assert.equal(file, `rel/tool-1.0.tar.gz ${sha256(payload)}`);
      assert.equal(kind, 'package');
      assert.equal(origin, `${upstream.url}/rel/tool-1.0.tar.gz`);
      const at = Date.parse(fetched!.replace(' UTC', 'Z').replace(' ', 'T'));
      assert.ok(at >= Math.floor(before / 1000) * 1000 && at <= Date.now(), fetched);
      assert.ok(links(html).includes('/repo/tar/mirror/rel/tool-1.0.tar.gz'));
      // The home page counts what a remote cached as its files.
      const home = tableRows((await getHtml(`${own.url}/`)).html).find((r) => r[0]!.startsWith('mirror'));
      assert.deepEqual(home && [home[0], home[3], home[4]], ['mirror (remote, files cached)', '1', '4.0 KiB']);
    } finally {
      await upstream.stop();
      await own.stop();
      fs.rmSync(upDir, { recursive: true, force: true });
    }
  });

  test('a virtual repository page names its members in order, linked', async () => {
    const v = await fetch(`${srv.url}/api/repos/pypi/py-all`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ type: 'virtual', members: ['py'] }) });
    assert.equal(v.status, 201, await v.text());
    const { status, html } = await getHtml(`${srv.url}/ui/pypi/py-all`);
    assert.equal(status, 200);
    assert.match(textOf(html), /Virtual repository of, in order: py ?\./);
    assert.ok(links(html).includes('/ui/pypi/py'));
  });

  test('a virtual repository page lists what its members offer: an earlier member hides the same version, each row names its members', async () => {
    const own = await startServer();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-virtual-'));
    try {
      const put = async (repo: string, name: string, version: string, description: string) =>
        assert.equal((await upload(own.url, makeDeb(work, { name, version, description }), { provider: 'apt', reponame: repo })).status, 201);
      await put('base', 'libfoo', '1.2-1', 'Foo from base');
      await put('base', 'widget', '1.0', 'A widget');
      await put('extra', 'libfoo', '1.2-1', 'Foo rebuilt in extra'); // same name+version+arch: hidden behind base's
      await put('extra', 'libfoo', '1.3-1', 'Foo 1.3 from extra');
      await put('extra', 'bar', '0.5', 'Bar only in extra');
      const v = await fetch(`${own.url}/api/repos/apt/all`, { method: 'PUT', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ type: 'virtual', members: ['base', 'extra'] }) });
      assert.equal(v.status, 201, await v.text());
      const { status, html } = await getHtml(`${own.url}/ui/apt/all`);
      assert.equal(status, 200);
      const rows = new Map(tableRows(html).map((r) => [r[0]!.split(' ')[0], r]));
      assert.deepEqual([...rows.keys()], ['bar', 'libfoo', 'widget']);
      // Package, newest version, arch, from, versions, ...
      assert.deepEqual(rows.get('libfoo')!.slice(1, 5), ['1.3-1', 'all', 'base, extra', '2']);
      assert.deepEqual(rows.get('bar')!.slice(1, 5), ['0.5', 'all', 'extra', '1']);
      assert.deepEqual(rows.get('widget')!.slice(1, 5), ['1.0', 'all', 'base', '1']);
      assert.ok(links(html).includes('/ui/apt/extra/bar'), 'a package links to the member it comes from');
      assert.ok(links(html).includes('/ui/apt/base/libfoo'), 'first member first');
      const filtered = tableRows((await getHtml(`${own.url}/ui/apt/all?q=only+in`)).html);
      assert.deepEqual(filtered.map((r) => r[0]!.split(' ')[0]), ['bar']);
    } finally {
      await own.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
