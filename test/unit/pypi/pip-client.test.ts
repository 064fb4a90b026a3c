/**
 * The provider's output in front of the real pip (23.2 here): a throwaway HTTP server on
 * port 0 serves what buildIndex published, the uploaded files and their attachments, and
 * routes requests through the provider's rewrite, as the core does.
 */
import { parseRendered } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { EntryRow, IndexFile, PublishContext } from '../../../src/core/provider';
import { pypiProvider } from '../../../providers/pypi/index';
import { makeSdist, makeWheel, metadataText, tmpDir, uploadInput } from './helpers';

const dir = tmpDir();
const REPO = '/repo/pypi/test/';

interface Served { data: Buffer; type: string; vary?: string }
const store = new Map<string, Served>();
/** Set to make the server ignore pip's Accept (to run pip against the HTML serialisation). */
let acceptOverride: string | null = null;
const log: { path: string; accept: string; status: number; type?: string }[] = [];

async function publish(uploads: { file: string; yanked?: string }[]): Promise<void> {
  const rows: EntryRow[] = [];
  for (const [i, u] of uploads.entries()) {
    const input = uploadInput(u.file);
    const p = await parseRendered(pypiProvider, input);
    store.set(p.path, { data: fs.readFileSync(u.file), type: 'application/octet-stream' });
    for (const a of p.attachments) store.set(p.path + a.suffix, { data: a.data, type: a.contentType });
    rows.push({ id: i + 1, name: p.name, version: p.version, arch: '', filename: p.filename, path: p.path, partition: p.partition, entry: p.entry,
      meta: p.meta, size: input.file.size, hashes: input.file.hashes, createdAt: new Date(), yanked: u.yanked ?? null });
  }
  const scopes = new Set<string>();
  const scopeCtx = { repo: { id: 1, provider: 'pypi', name: 'test', settings: {} }, partitions: async () => [] };
  for (const r of rows) for (const s of [...(await pypiProvider.scopesFor(r.partition, scopeCtx)), ...((await pypiProvider.listingScopes?.(r.partition, scopeCtx)) ?? [])]) scopes.add(s);
  for (const scope of scopes) {
    const ctx: PublishContext = {
      scope, now: new Date(), repo: { id: 1, provider: 'pypi', name: 'test', settings: {} },
      partitions: async () => [...new Set(rows.map((r) => r.partition))],
      entries: async (parts) => rows.filter((r) => !parts || parts.includes(r.partition)),
      signer: { openpgp: () => Promise.reject(new Error('no')), rsa: () => Promise.reject(new Error('no')) },
    };
    for (const f of (await pypiProvider.buildIndex(ctx)) as IndexFile[]) store.set(f.path, { data: f.data, type: f.contentType });
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url!, 'http://x');
  const accept = acceptOverride ?? req.headers.accept ?? '';
  const done = (status: number, headers: Record<string, string> = {}, body?: Buffer) => {
    log.push({ path: url.pathname, accept, status, type: headers['content-type'] });
    res.writeHead(status, headers).end(req.method === 'HEAD' ? undefined : body);
  };
  if (!url.pathname.startsWith(REPO)) return done(404);
  const rel = decodeURIComponent(url.pathname.slice(REPO.length));
  const rw = pypiProvider.rewrite!({ path: rel, method: req.method!, accept, query: Object.fromEntries(url.searchParams) });
  if (rw && 'redirect' in rw) return done(301, { location: REPO + rw.redirect });
  const target = rw ? rw.path : rel;
  const hit = store.get(target);
  if (!hit) return done(404);
  done(200, { 'content-type': hit.type, ...(rw && 'vary' in rw && rw.vary ? { vary: rw.vary } : {}) }, hit.data);
});

function pip(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    // --isolated and no PIP_* variables: this machine's pip config adds other indexes and find-links
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIP_')));
    const [cmd, ...rest] = args;
    execFile('python3', ['-m', 'pip', '--isolated', cmd!, '--no-cache-dir', '--disable-pip-version-check', '--no-input', ...rest], {
      env: { ...env, PIP_CONFIG_FILE: '/dev/null' },
      maxBuffer: 16 << 20,
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }));
  });
}

/**
 * pip download still prepares an sdist's metadata with its build backend; an in-tree backend
 * with no requirements lets that run offline (it copies PKG-INFO as the wheel METADATA).
 */
const IN_TREE_BACKEND = [
  { name: 'pyproject.toml', text: '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n' },
  { name: 'backend.py', text: [
    'import os',
    'HERE = os.path.dirname(os.path.abspath(__file__))',
    'def get_requires_for_build_wheel(config_settings=None): return []',
    'def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):',
    '    d = os.path.join(metadata_directory, "dep_lib-1.0.dist-info")',
    '    os.makedirs(d)',
    '    with open(os.path.join(HERE, "PKG-INFO"), "rb") as src, open(os.path.join(d, "METADATA"), "wb") as dst: dst.write(src.read())',
    '    return "dep_lib-1.0.dist-info"',
    'def build_wheel(wheel_directory, config_settings=None, metadata_directory=None): raise RuntimeError("not needed")',
    '',
  ].join('\n') },
];

let index = '';
test('setup: publish a repository and serve it', async () => {
  const md22 = (n: string, v: string, extra = '') => metadataText(n, v, extra).replace('Metadata-Version: 2.1', 'Metadata-Version: 2.2');
  await publish([
    { file: makeWheel(dir, 'dep_lib-1.0-py3-none-any.whl', metadataText('Dep.Lib', '1.0')) },
    { file: makeWheel(dir, 'dep_lib-2.0-py3-none-any.whl', metadataText('dep-lib', '2.0')), yanked: 'broken release' },
    { file: makeSdist(dir, 'dep_lib-1.0.tar.gz', md22('dep-lib', '1.0'), IN_TREE_BACKEND) },
    { file: makeWheel(dir, 'my_app-0.1-py3-none-any.whl', metadataText('My_App', '0.1', 'Requires-Dist: dep.lib>=1\nRequires-Python: >=3.7\n')) },
  ]);
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  index = `http://127.0.0.1:${(server.address() as AddressInfo).port}${REPO}`;
});

test('pip installs from <repo>/ with a dependency from the same repo, skipping the yanked version', async () => {
  const target = path.join(dir, 'site1');
  log.length = 0;
  const r = await pip(['install', '-v', '--target', target, '--index-url', index, 'My.App']);
  assert.equal(r.code, 0, r.out);
  assert.equal(fs.readFileSync(path.join(target, 'dep_lib', '__init__.py'), 'utf8'), 'VERSION = "1.0"\n');
  assert.ok(fs.existsSync(path.join(target, 'my_app', '__init__.py')));
  assert.doesNotMatch(r.out, /Looking in links/);
  // pip asked for JSON and got it; -v shows it used the PEP 658 metadata files
  assert.ok(log.some((l) => l.path === `${REPO}my-app/` && l.type === 'application/vnd.pypi.simple.v1+json' && l.status === 200));
  assert.match(r.out, /Obtaining dependency information for dep\.lib>=1 from .*\/dep_lib-1\.0-py3-none-any\.whl\.metadata/);
  assert.ok(log.some((l) => l.path.endsWith('my_app-0.1-py3-none-any.whl.metadata') && l.status === 200));
  assert.ok(!log.some((l) => l.status === 404), JSON.stringify(log.filter((l) => l.status === 404)));
});

test('a pinned yanked version installs (with a warning), through /simple/ and the HTML serialisation', async () => {
  const target = path.join(dir, 'site2');
  acceptOverride = 'text/html';
  log.length = 0;
  const r = await pip(['install', '--target', target, '--index-url', `${index}simple/`, 'dep-lib==2.0']);
  acceptOverride = null;
  assert.equal(r.code, 0, r.out);
  assert.ok(log.some((l) => l.path === `${REPO}simple/dep-lib/` && l.type === 'text/html; charset=utf-8'));
  assert.match(r.out, /yanked.*Reason for being yanked: broken release/is);
  assert.equal(fs.readFileSync(path.join(target, 'dep_lib', '__init__.py'), 'utf8'), 'VERSION = "2.0"\n');
});

test('pip download --no-binary :all: fetches the sdist', async () => {
  const out = path.join(dir, 'dl');
  const r = await pip(['download', '--no-deps', '--no-binary', ':all:', '-d', out, '--index-url', index, 'dep-lib']);
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(fs.readdirSync(out), ['dep_lib-1.0.tar.gz']);
  assert.ok(log.some((l) => l.path.endsWith('dep_lib-1.0.tar.gz.metadata') && l.status === 200), 'sdist metadata (2.2, no Dynamic) served and used');
});

test('slash-less and non-normalized page URLs redirect; unsupported Accept falls back to HTML', async () => {
  const get = (p: string, accept = '*/*') => fetch(index + p, { redirect: 'manual', headers: { accept } });
  let r = await get('Dep.Lib/');
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), `${REPO}dep-lib/`);
  r = await get('simple/dep-lib');
  assert.equal(r.headers.get('location'), `${REPO}simple/dep-lib/`);
  r = await get('simple');
  assert.equal(r.headers.get('location'), `${REPO}simple/`);
  r = await get('dep-lib/', 'application/json');
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(r.headers.get('vary'), 'Accept');
  r = await get('', 'application/vnd.pypi.simple.v1+json');
  assert.deepEqual(await r.json(), { meta: { 'api-version': '1.1' }, projects: [{ name: 'dep-lib' }, { name: 'my-app' }] });
});

test('teardown', () => {
  server.close();
});
