/**
 * Issue 8: the setup snippets shown on the repository pages actually work. Each snippet is
 * taken from the served HTML (entities decoded, as a user copies it) and run with only the
 * changes a test sandbox needs (no sudo, keyrings and sources under a temp dir instead of
 * /etc/apt, a venv's pip on PATH, the real token for <TOKEN>):
 * - pypi: `pip install --index-url`, pip.conf, and the twine upload command;
 * - apt: the key download, the deb822 .sources file and the one-line entry, with apt-get.
 * Children run asynchronously: the server under test lives in this process.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { makeWheel, seed } from './ui-fixtures';
import { getHtml, snippets } from './ui-html';

let srv: TestServer;
let dir: string;

before(async () => {
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ui-snippets-'));
  await seed(srv.url, dir);
});
after(async () => {
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The host's pip/twine configuration must not leak in. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(PIP_|TWINE_|PYTHONPATH$)/.test(k)) out[k] = v;
  return { ...out, PIP_CONFIG_FILE: '/dev/null', PIP_NO_CACHE_DIR: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1', ...extra };
}

function run(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: opts.env ?? env(), cwd: opts.cwd, maxBuffer: 64 << 20, timeout: 180_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

async function pageSnippets(p: string): Promise<Map<string, string>> {
  const { status, html } = await getHtml(srv.url + p);
  assert.equal(status, 200);
  return snippets(html);
}

function find(sn: Map<string, string>, title: RegExp): string {
  const hit = [...sn].find(([t]) => title.test(t));
  assert.ok(hit, `no snippet titled ${title} among: ${[...sn.keys()].join(' | ')}`);
  return hit[1];
}

test('pypi: the pip, pip.conf and twine snippets work as shown', async () => {
  const sn = await pageSnippets('/ui/pypi/py');
  const venv = path.join(dir, 'venv');
  const made = await run('python3', ['-m', 'venv', venv]);
  assert.equal(made.code, 0, made.out);
  const py = path.join(venv, 'bin/python');
  const withVenv = (extra: Record<string, string> = {}) => env({ PATH: `${path.join(venv, 'bin')}:${process.env.PATH}`, HOME: dir, ...extra });

  // 1. The pip command line, run literally (it names a project of this repository).
  const pipLine = find(sn, /^Install with pip$/);
  assert.match(pipLine, /^pip install --index-url \S+ \S+$/);
  let r = await run('bash', ['-c', pipLine], { env: withVenv() });
  assert.equal(r.code, 0, r.out);
  const project = pipLine.split(' ').at(-1)!;
  r = await run(py, ['-m', 'pip', 'show', project]);
  assert.equal(r.code, 0, r.out);

  // 2. pip.conf: with it as the configuration, a bare `pip install` uses this repository.
  const conf = path.join(dir, 'pip.conf');
  fs.writeFileSync(conf, find(sn, /^pip\.conf/));
  r = await run(py, ['-m', 'pip', 'install', 'idna-lite'], { env: withVenv({ PIP_CONFIG_FILE: conf }) });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Successfully installed idna-lite-0\.1/);
  r = await run(py, ['-c', 'import idna_lite, sys; sys.stdout.write(idna_lite.VERSION)']);
  assert.equal(r.out, '0.1');

  // 3. The twine command, from a project directory with dist/*, only <TOKEN> filled in.
  const project2 = path.join(dir, 'proj');
  fs.mkdirSync(path.join(project2, 'dist'), { recursive: true });
  makeWheel(path.join(project2, 'dist'), { name: 'fresh-upload', version: '2.0', summary: 'uploaded by the twine snippet' });
  const twineLine = find(sn, /twine/i);
  assert.ok(twineLine.includes('<TOKEN>'));
  r = await run('bash', ['-c', twineLine.replace('<TOKEN>', ADMIN_TOKEN)], { cwd: project2, env: env({ HOME: project2, NO_COLOR: '1' }) });
  assert.equal(r.code, 0, r.out);
  r = await run(py, ['-m', 'pip', 'install', 'fresh-upload==2.0'], { env: withVenv({ PIP_CONFIG_FILE: conf }) });
  assert.equal(r.code, 0, r.out);
});

test('apt: the key download, the .sources file and the one-line entry work with apt-get', async () => {
  const sn = await pageSnippets('/ui/apt/debs');
  const t = path.join(dir, 'apt');
  for (const d of ['keyrings', 'etc/sources.list.d', 'etc/preferences.d', 'state/lists/partial', 'cache/archives/partial', 'dl']) fs.mkdirSync(path.join(t, d), { recursive: true });
  const sandbox = (s: string) => s.replace(/\bsudo /g, '').replaceAll('/etc/apt/keyrings', path.join(t, 'keyrings'));

  const keyCmd = find(sn, /signing key/i);
  assert.match(keyCmd, /^sudo /m, 'the shown command is for a real system');
  let r = await run('bash', ['-ec', sandbox(keyCmd)]);
  assert.equal(r.code, 0, r.out);

  const sourcesTitle = [...sn.keys()].find((k) => /\.sources$/.test(k))!;
  assert.equal(sourcesTitle, '/etc/apt/sources.list.d/debs.sources');
  fs.writeFileSync(path.join(t, 'etc/sources.list.d/debs.sources'), sandbox(sn.get(sourcesTitle)!));
  fs.writeFileSync(path.join(t, 'etc/sources.list'), '');
  fs.chmodSync(path.join(t, 'dl'), 0o777);
  for (const p of [dir, t, path.join(t, 'keyrings'), ...fs.readdirSync(path.join(t, 'keyrings')).map((f) => path.join(t, 'keyrings', f))]) fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644);

  const apt = (cmd: string, args: string[]) =>
    run(cmd, [
      '-o', `Dir::Etc::SourceList=${t}/etc/sources.list`, '-o', `Dir::Etc::SourceParts=${t}/etc/sources.list.d`,
      '-o', `Dir::Etc::PreferencesParts=${t}/etc/preferences.d`, '-o', `Dir::State=${t}/state`, '-o', 'Dir::State::status=/var/lib/dpkg/status',
      '-o', `Dir::Cache=${t}/cache`, '-o', 'Debug::NoLocking=1', '-o', 'Acquire::Languages=none', '-o', 'APT::Architecture=amd64', ...args,
    ], { cwd: path.join(t, 'dl') });

  r = await apt('apt-get', ['update']);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /^(W|E):/m, r.out);
  r = await apt('apt-cache', ['policy', 'widget']);
  assert.match(r.out, /Candidate: 1\.0\n/, r.out);
  r = await apt('apt-get', ['download', 'libfoo']);
  assert.equal(r.code, 0, r.out);
  assert.ok(fs.readFileSync(path.join(t, 'dl', 'libfoo_1.2-1_all.deb')).equals(fs.readFileSync(path.join(dir, 'libfoo_1.2-1_all.deb'))));

  // The one-line form instead of the .sources file.
  fs.rmSync(path.join(t, 'etc/sources.list.d/debs.sources'));
  fs.rmSync(path.join(t, 'state/lists'), { recursive: true });
  fs.mkdirSync(path.join(t, 'state/lists/partial'), { recursive: true });
  fs.writeFileSync(path.join(t, 'etc/sources.list'), sandbox(find(sn, /one-line sources\.list/i)) + '\n');
  r = await apt('apt-get', ['update']);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /^(W|E):/m, r.out);
  r = await apt('apt-cache', ['show', 'foo-tools']);
  assert.match(r.out, /^Depends: libfoo \(>= 1\.0\), not-here \| libfoo$/m);
});
