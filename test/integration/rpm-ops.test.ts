/**
 * Issue 18, "the JSON API, search, yank, delete, clean and rpcli work as for every other
 * format", for the operations rpm-clients.test.ts does not cover: `rpcli upload` with `-y rpm`
 * and with detection (no -y), `POST /api/repos/rpm/<repo>/clean` (dry run, then for real, then
 * `rpcli clean`), and search through the API and the web UI. After the clean, the served
 * primary.xml and the real dnf see only what was kept.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { auth, getJson } from '../helpers/http';
import { haveRpmTools, rpmbuild, tmpDir } from '../unit/rpm/helpers';
import { oneErrorLine, rpcli } from './cli-run';
import { dnfClient, dnfSkip, repomdLocations } from './rpm-tools';

const REPO = 'opsrpm';
const skip = haveRpmTools ? false : 'rpmbuild is not installed';
let srv: TestServer;
let T: string;
let env: Record<string, string>;
const pkgs: Record<string, string> = {};

before(async () => {
  if (skip) return;
  T = tmpDir('rpm-ops-');
  fs.chmodSync(T, 0o755);
  srv = await startServer();
  env = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: ADMIN_TOKEN };
  for (const v of ['1.2', '1.10', '1.11']) {
    fs.mkdirSync(path.join(T, v));
    pkgs[v] = rpmbuild({ name: 'ops-tool', version: v, arch: 'x86_64', summary: 'Frobnicates widgets for the ops test' }, path.join(T, v)).rpm;
  }
  pkgs.lib = rpmbuild({ name: 'ops-lib', version: '0.1', arch: 'noarch' }, T).rpm;
});

after(async () => {
  if (skip) return;
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

const base = () => `${srv.url}/repo/rpm/${REPO}`;
const status = async (p: string) => (await fetch(`${base()}/${p}`)).status;

/** The package versions the served primary.xml lists (`name version-release`), sorted. */
async function primaryVersions(): Promise<string[]> {
  const repomd = await (await fetch(`${base()}/repodata/repomd.xml`)).text();
  const gz = Buffer.from(await (await fetch(`${base()}/${repomdLocations(repomd).primary}`)).arrayBuffer());
  const xml = zlib.gunzipSync(gz).toString();
  return [...xml.matchAll(/<name>([^<]+)<\/name>[\s\S]*?<version epoch="\d+" ver="([^"]+)" rel="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}-${m[3]}`).sort();
}

async function call(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${srv.url}/api/repos/rpm/${REPO}${p}`, { method, headers: { ...auth(), 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

test('rpcli upload -y rpm, and without -y (detected from the bytes)', { skip }, async () => {
  const explicit = await rpcli(['upload', '-y', 'rpm', '-r', REPO, pkgs['1.2']!], { env });
  assert.equal(explicit.code, 0, explicit.stderr);
  assert.match(explicit.stdout, /^published: rpm\/opsrpm ops-tool 1\.2-1 \(x86_64\) /m);
  const detected = await rpcli(['upload', '--json', '-r', REPO, pkgs['1.10']!, pkgs['1.11']!, pkgs.lib!], { env });
  assert.equal(detected.code, 0, detected.stderr);
  const out = JSON.parse(detected.stdout) as { provider: string; name: string; version: string; path: string }[];
  assert.deepEqual(out.map((o) => `${o.provider} ${o.name} ${o.version} ${o.path}`), [
    'rpm ops-tool 1.10-1 Packages/o/ops-tool-1.10-1.x86_64.rpm',
    'rpm ops-tool 1.11-1 Packages/o/ops-tool-1.11-1.x86_64.rpm',
    'rpm ops-lib 0.1-1 Packages/o/ops-lib-0.1-1.noarch.rpm',
  ]);
  assert.deepEqual(await primaryVersions(), ['ops-lib 0.1-1', 'ops-tool 1.10-1', 'ops-tool 1.11-1', 'ops-tool 1.2-1']);
  // A group through rpcli's -a: its own repodata.
  const grouped = await rpcli(['upload', '-y', 'rpm', '-r', REPO, '-a', 'group=el9', '--json', pkgs.lib!], { env });
  assert.equal(grouped.code, 0, grouped.stderr);
  assert.equal(JSON.parse(grouped.stdout)[0].path, 'el9/Packages/o/ops-lib-0.1-1.noarch.rpm');
  // Not an rpm with -y rpm: the server's 400 message, exit 1.
  const bogus = path.join(T, 'bogus.rpm');
  fs.writeFileSync(bogus, 'not an rpm at all');
  const bad = await rpcli(['upload', '-y', 'rpm', '-r', REPO, bogus], { env });
  assert.equal(bad.code, 1);
  assert.match(oneErrorLine(bad), /^not an rpm package: the file does not start with the rpm lead magic/);
});

test('search finds rpm packages by name and by summary, in the API and the web UI', { skip }, async () => {
  const byName = await getJson(`${srv.url}/api/search?q=ops-tool`);
  assert.equal(byName.status, 200);
  const hit = byName.body.results.find((r: { provider: string; name: string }) => r.provider === 'rpm' && r.name === 'ops-tool');
  assert.ok(hit, JSON.stringify(byName.body));
  assert.equal(hit.repo, REPO);
  assert.equal(hit.latestVersion, '1.11-1', 'the newest by rpm order (1.11 after 1.10 after 1.2)');
  const bySummary = await getJson(`${srv.url}/api/search?q=FROBNICATES`);
  assert.deepEqual(bySummary.body.results.map((r: { name: string }) => r.name), ['ops-tool']);
  const html = await (await fetch(`${srv.url}/search?q=frobnicates`)).text();
  assert.ok(html.includes(`href="/ui/rpm/${REPO}/ops-tool"`), 'the UI search links the package page');
  assert.match(html, /badge-rpm/);
  assert.ok(html.includes('1.11-1'));
});

test('clean: a dry run lists what would go and removes nothing; then the old files leave primary.xml and dnf', { skip }, async () => {
  const dry = await call('POST', '/clean', { keep: 1, dryRun: true });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  assert.deepEqual(dry.body.removed.map((f: { name: string; version: string }) => `${f.name} ${f.version}`).sort(), ['ops-tool 1.10-1', 'ops-tool 1.2-1']);
  assert.equal(await status('Packages/o/ops-tool-1.2-1.x86_64.rpm'), 200, 'a dry run removes nothing');
  assert.equal((await primaryVersions()).length, 4);

  const real = await call('POST', '/clean', { keep: 2 });
  assert.equal(real.status, 200, JSON.stringify(real.body));
  assert.deepEqual(real.body.removed.map((f: { path: string }) => f.path), ['Packages/o/ops-tool-1.2-1.x86_64.rpm']);
  assert.equal(await status('Packages/o/ops-tool-1.2-1.x86_64.rpm'), 404);
  assert.deepEqual(await primaryVersions(), ['ops-lib 0.1-1', 'ops-tool 1.10-1', 'ops-tool 1.11-1']);

  const cli = await rpcli(['clean', '-r', REPO, '-y', 'rpm', '--keep', '1', '--match', 'ops-*'], { env });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /ops-tool 1\.10-1/);
  assert.deepEqual(await primaryVersions(), ['ops-lib 0.1-1', 'ops-tool 1.11-1']);
  assert.equal(await status('Packages/o/ops-tool-1.11-1.x86_64.rpm'), 200);
  // The group's repodata was left alone by cleaning the root (keep 1 of one version).
  assert.equal((await fetch(`${base()}/el9/Packages/o/ops-lib-0.1-1.noarch.rpm`)).status, 200);
});

test('after the clean dnf lists only the kept version', { skip: skip || dnfSkip }, async () => {
  const c = dnfClient(T, 'dnf');
  c.setRepoFile(`${REPO}.repo`, await (await fetch(`${base()}.repo`)).text());
  const r = await c.dnf(['list', '--available', '--showduplicates', 'ops-tool']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /ops-tool\.x86_64\s+1\.11-1\s/);
  assert.doesNotMatch(r.out, /1\.10-1|1\.2-1/);
});
