import type { RenderedPackage } from '../../helpers/provider';
import { parseRendered } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EntryRow, ParsedPackage, PublishContext } from '../../../src/core/provider';
import { pypiProvider } from '../../../providers/pypi/index';
import { makeSdist, makeWheel, metadataText, py, tmpDir, uploadInput } from './helpers';

const dir = tmpDir();

async function row(id: number, p: RenderedPackage, file: string, yanked: string | null = null): Promise<EntryRow> {
  const input = uploadInput(file);
  return {
    id, name: p.name, version: p.version, arch: p.arch, filename: p.filename, path: p.path, partition: p.partition,
    entry: p.entry, meta: p.meta, size: input.file.size, hashes: input.file.hashes,
    createdAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 123 + id)), yanked,
  };
}

async function build(file: string, yanked: string | null, id: number): Promise<EntryRow> {
  return row(id, await parseRendered(pypiProvider, uploadInput(file)), file, yanked);
}

function ctx(scope: string, rows: EntryRow[]): PublishContext {
  return {
    scope,
    now: new Date(),
    repo: { id: 1, provider: 'pypi', name: 'test', settings: {} },
    partitions: async () => [...new Set(rows.map((r) => r.partition))],
    entries: async (parts) => rows.filter((r) => !parts || parts.includes(r.partition)),
    signer: { openpgp: () => Promise.reject(new Error('no')), rsa: () => Promise.reject(new Error('no')) },
  };
}

const RP = 'Requires-Python: >=3.8, <4 & "x"\n';
let rows: EntryRow[] = [];

test('fixtures', async () => {
  rows = [
    await build(makeWheel(dir, 'demo_pkg-1.10-py3-none-any.whl', metadataText('Demo.Pkg', '1.10', RP)), null, 1),
    await build(makeWheel(dir, 'demo_pkg-1.9-py3-none-any.whl', metadataText('demo-pkg', '1.9')), 'broken <build>', 2),
    await build(makeSdist(dir, 'demo_pkg-1.9.tar.gz', metadataText('demo-pkg', '1.9')), '', 3),
    await build(makeWheel(dir, 'demo_pkg-2.0rc1-py3-none-any.whl', metadataText('demo_pkg', '2.0rc1')), null, 4),
    await build(makeWheel(dir, 'other-0.1-py3-none-any.whl', metadataText('Other', '0.1')), null, 5),
  ];
});

/** pip 23.2's own page parser (collector.parse_links) over our page, served at `url`. */
function pipLinks(body: Buffer, contentType: string, url: string) {
  return JSON.parse(py(`import base64
from pip._internal.index.collector import parse_links, IndexContent
page = IndexContent(base64.b64decode(A['b']), A['ct'], 'utf-8', A['url'])
out = []
for l in parse_links(page):
    out.append({'url': l.url_without_fragment, 'filename': l.filename, 'hash': [l.hash_name, l.hash], 'rp': l.requires_python,
                'yanked': l.yanked_reason, 'md': l.metadata_file_data.hashes if l.metadata_file_data else None,
                'md_url': l.metadata_link().url if l.metadata_link() else None})
print(json.dumps(out))`, { b: body.toString('base64'), ct: contentType, url })) as {
    url: string; filename: string; hash: [string, string]; rp: string | null; yanked: string | null; md: Record<string, string> | null; md_url: string | null;
  }[];
}

test('project page: pip reads the same links from HTML and JSON, at both page URLs', async () => {
  const files = await pypiProvider.buildIndex(ctx('project/demo-pkg', rows));
  assert.deepEqual(files.map((f) => [f.path, f.contentType]), [
    ['simple/demo-pkg/index.html', 'text/html; charset=utf-8'],
    ['simple/demo-pkg/index.json', 'application/vnd.pypi.simple.v1+json'],
  ]);
  const demo = rows.filter((r) => r.partition === 'demo-pkg');
  for (const pageUrl of ['http://h:1/repo/pypi/test/demo-pkg/', 'http://h:1/repo/pypi/test/simple/demo-pkg/']) {
    for (const f of files) {
      const links = pipLinks(f.data, f.contentType.split(';')[0]!, pageUrl);
      assert.equal(links.length, 4, f.path);
      for (const r of demo) {
        const l = links.find((x) => x.filename === r.filename);
        assert.ok(l, `${r.filename} listed in ${f.path}`);
        assert.equal(l.url, `http://h:1/repo/pypi/test/files/demo-pkg/${r.filename}`);
        assert.deepEqual(l.hash, ['sha256', r.hashes.sha256]);
        assert.equal(l.yanked, r.yanked);
        const stored = JSON.parse(r.entry);
        assert.deepEqual(l.md, stored['core-metadata'] === false ? null : stored['core-metadata']);
        if (l.md) assert.equal(l.md_url, `${l.url}.metadata`);
        assert.equal(l.rp, r.version === '1.10' ? '>=3.8, <4 & "x"' : null);
      }
    }
  }
  const html = files[0]!.data.toString();
  assert.match(html, /data-requires-python="&gt;=3\.8, &lt;4 &amp; &quot;x&quot;"/);
  assert.match(html, /data-yanked="broken &lt;build&gt;"/);
  assert.match(html, /<meta name="pypi:repository-version" content="1\.1">/);
  assert.match(html, /data-dist-info-metadata="sha256=[0-9a-f]{64}" data-core-metadata="sha256=[0-9a-f]{64}"/);
});

test('project JSON follows PEP 691/700 (api 1.1) and PEP 714', async () => {
  const json = (await pypiProvider.buildIndex(ctx('project/demo-pkg', rows)))[1]!.data.toString();
  const report = JSON.parse(py(`from packaging.version import Version
import re
d = json.loads(A['j'])
assert d['meta'] == {'api-version': '1.1'}, d['meta']
assert d['name'] == 'demo-pkg'
vs = [Version(v) for v in d['versions']]
assert vs == sorted(vs), d['versions']
for f in d['files']:
    assert 'dist-info-metadata' not in f
    assert isinstance(f['size'], int) and f['size'] > 0
    assert re.fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,6})?Z', f['upload-time']), f['upload-time']
    assert isinstance(f['hashes'], dict) and f['hashes']
    assert f['yanked'] is False or f['yanked'] is True or (isinstance(f['yanked'], str) and f['yanked'])
    v = f['filename'].split('-')[1].removesuffix('.tar.gz')
    assert any(Version(x) == Version(v) for x in d['versions']), v
print(json.dumps({'versions': d['versions'], 'yanked': [f['yanked'] for f in d['files']], 'times': [f['upload-time'] for f in d['files']]}))`, { j: json }));
  assert.deepEqual(report.versions, ['1.9', '1.10', '2.0rc1']);
  // files in version order; '' (yanked without reason) is `true` in JSON
  assert.deepEqual(report.yanked, ['broken <build>', true, false, false]);
  assert.equal(report.times[2], '2026-01-02T03:04:05.124Z');
});

test('root page lists every project once, by normalized name, linking its page', async () => {
  const [html, json] = await pypiProvider.buildIndex(ctx('root', rows));
  assert.equal(html!.path, 'simple/index.html');
  assert.equal(json!.contentType, 'application/vnd.pypi.simple.v1+json');
  const anchors = JSON.parse(py(`from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.a = []; self.cur = None; self.meta = None
    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if tag == 'a': self.cur = [d.get('href'), '']
        if tag == 'meta' and d.get('name') == 'pypi:repository-version': self.meta = d.get('content')
    def handle_data(self, data):
        if self.cur is not None: self.cur[1] += data
    def handle_endtag(self, tag):
        if tag == 'a': self.a.append(self.cur); self.cur = None
p = P(); p.feed(A['h'])
print(json.dumps({'a': p.a, 'meta': p.meta}))`, { h: html!.data.toString() }));
  // built from the distinct partitions (not every row), so the names are the normalized ones
  assert.deepEqual(anchors, { a: [['demo-pkg/', 'demo-pkg'], ['other/', 'other']], meta: '1.1' });
  assert.deepEqual(JSON.parse(json!.data.toString()), { meta: { 'api-version': '1.1' }, projects: [{ name: 'demo-pkg' }, { name: 'other' }] });
});

test('a project without files publishes nothing; scopes', async () => {
  assert.deepEqual(await pypiProvider.buildIndex(ctx('project/gone', rows)), []);
  await assert.rejects(pypiProvider.buildIndex(ctx('project/Not_Normal', rows)), /unknown index scope/);
  // A file's own scope is its project's page; the project list is a listing scope (bumped only when a project appears or goes).
  assert.deepEqual(await pypiProvider.scopesFor('demo-pkg', ctx('root', rows)), ['project/demo-pkg']);
  assert.deepEqual(await pypiProvider.listingScopes!('demo-pkg', ctx('root', rows)), ['root']);
  const emptyRoot = await pypiProvider.buildIndex(ctx('root', []));
  assert.deepEqual(JSON.parse(emptyRoot[1]!.data.toString()).projects, []);
});

test('rebuilding from the same rows gives the same bytes', async () => {
  const a = await pypiProvider.buildIndex(ctx('project/demo-pkg', rows));
  const b = await pypiProvider.buildIndex(ctx('project/demo-pkg', [...rows].reverse()));
  assert.ok(a.every((f, i) => f.data.equals(b[i]!.data)));
});
