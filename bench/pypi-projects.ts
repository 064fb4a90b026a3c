/**
 * PyPI publishing against the number of projects (issue 19: "publishing one file to a
 * repository of 100,000 projects stays within 3x of a repository of 100"). Two servers run at
 * once (child processes, compiled, SQLite): one repository of BENCH_SMALL projects, one of
 * BENCH_LARGE. Each is filled by uploading two real wheels through HTTP (a template project
 * and the project timed later) and then copying the template's row in SQL, once per further
 * project (bench/lib/sql-fill.ts; the copies' own pages are never built: the timed uploads do
 * not read them). Then, interleaved A B A B on the same machine state:
 * - a new version of an existing project (upload with wait -> 201, the new page served),
 * - the first file of a new project (the project list must be rebuilt too).
 * Prints medians and the large/small ratio per pair; asserts nothing.
 *   npx tsx bench/pypi-projects.ts      BENCH_SMALL=100 BENCH_LARGE=100000 BENCH_ROUNDS=5
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postPackage, waitPublished } from './lib/bench-client';
import { cloneRows } from './lib/sql-fill';
import { interleaved, median, pairedReport } from './lib/paired';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { makeWheel, metadataText } from '../test/unit/pypi/helpers';

const SMALL = Number(process.env.BENCH_SMALL ?? 100);
const LARGE = Number(process.env.BENCH_LARGE ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REPO = 'bench';
const TEMPLATE = 'tmplproject';
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function wheel(dir: string, project: string, version: string): string {
  const d = fs.mkdtempSync(path.join(dir, 'w-'));
  return makeWheel(d, `${project}-${version}-py3-none-any.whl`, metadataText(project, version, 'Requires-Python: >=3.8\n'));
}

interface Side {
  n: number;
  srv: ChildServer;
  dir: string;
}

async function side(n: number, root: string, hot: string): Promise<Side> {
  const dir = fs.mkdtempSync(path.join(root, `n${n}-`));
  const dbFile = path.join(dir, 'db.sqlite');
  const env = { DATA_DIR: path.join(dir, 'data'), DATABASE_URL: `sqlite:${dbFile}`, LOG_LEVEL: 'warn' };
  let srv = await startChildServer(env, undefined, { compiled: true });
  await postPackage(srv, wheel(dir, TEMPLATE, '1.0'), { reponame: REPO, provider: 'pypi' }, true);
  await postPackage(srv, hot, { reponame: REPO, provider: 'pypi' }, true);
  await srv.stop();
  const t0 = process.hrtime.bigint();
  cloneRows(dbFile, TEMPLATE, n - 2);
  console.log(`  ${n} projects: ${n - 2} copied in SQL in ${(ms(t0) / 1000).toFixed(1)} s`);
  srv = await startChildServer(env, undefined, { compiled: true });
  await waitPublished(srv, 'pypi', REPO);
  const listed = ((await (await fetch(`${srv.url}/repo/pypi/${REPO}/simple/`, { headers: { Accept: JSON_TYPE } })).json()) as { projects: unknown[] }).projects.length;
  if (listed !== n) throw new Error(`expected ${n} projects listed, found ${listed}`);
  return { n, srv, dir };
}

/** Upload with wait, then check the served page lists the file: the latency a twine user sees until pip can install it. */
async function timedUpload(s: Side, file: string, project: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await postPackage(s.srv, file, { reponame: REPO, provider: 'pypi' }, true);
  const d = ms(t0);
  const page = await fetch(`${s.srv.url}/repo/pypi/${REPO}/simple/${project}/`, { headers: { Accept: JSON_TYPE } });
  const files = ((await page.json()) as { files: { filename: string }[] }).files.map((f) => f.filename);
  if (!files.includes(path.basename(file))) throw new Error(`${path.basename(file)} not on the served page of ${project}`);
  return d;
}

async function main() {
  execFileSync(process.execPath, [path.join(__dirname, '../scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  console.log(`PyPI publish vs number of projects: ${SMALL} and ${LARGE}; ${ROUNDS} interleaved rounds; sqlite; load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-pypi-projects-'));
  const sides: Side[] = [];
  try {
    const wheels = (n: number) => ({
      hot: wheel(root, 'hotproject', '1.0'),
      versions: Array.from({ length: ROUNDS }, (_, i) => wheel(root, 'hotproject', `2.${i}`)),
      fresh: Array.from({ length: ROUNDS }, (_, i) => wheel(root, `fresh${n}x${i}`, '1.0')),
    });
    const ws = wheels(SMALL);
    const wl = wheels(LARGE);
    sides.push(await side(SMALL, root, ws.hot), await side(LARGE, root, wl.hot));
    const [small, large] = sides as [Side, Side];
    const version = await interleaved(ROUNDS, (i) => timedUpload(small, ws.versions[i]!, 'hotproject'), (i) => timedUpload(large, wl.versions[i]!, 'hotproject'));
    console.log([`  a new version of an existing project (upload -> 201, page served), ${SMALL} vs ${LARGE} projects:`, ...pairedReport(version, `${SMALL}`, `${LARGE}`)].join('\n'));
    console.log(`  median ${LARGE}/${SMALL}: ${median(version.ratios).toFixed(2)}x`);
    const fresh = await interleaved(ROUNDS, (i) => timedUpload(small, ws.fresh[i]!, `fresh${SMALL}x${i}`), (i) => timedUpload(large, wl.fresh[i]!, `fresh${LARGE}x${i}`));
    console.log([`  the first file of a new project (the project list rebuilt too), ${SMALL} vs ${LARGE} projects:`, ...pairedReport(fresh, `${SMALL}`, `${LARGE}`)].join('\n'));
    console.log(`  median ${LARGE}/${SMALL}: ${median(fresh.ratios).toFixed(2)}x`);
    console.log(`  server peak RSS: ${SMALL}: ${(small.srv.peakRssKb() / 1024).toFixed(0)} MiB, ${LARGE}: ${(large.srv.peakRssKb() / 1024).toFixed(0)} MiB`);
  } finally {
    for (const s of sides) await s.srv.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
