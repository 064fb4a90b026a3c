/**
 * PyPI provider at scale: one repository with a project of 2,000 files (BENCH_FILES), then
 * - the time to publish one more file into that project (upload with wait -> 201 latency),
 * - the same for a one-file project in the same repository (where rebuilding the `root`
 *   project list, which every upload triggers, is most of the work),
 * - the server's own publish durations per scope (its `publish` log lines),
 * - requests/s for the big project's JSON page, sequential and concurrent, keep-alive.
 * Runs the server as a child process on SQLite, or with BENCH_DB=mysql on a fresh MariaDB
 * database (test/helpers/mysql.ts). Prints figures; asserts nothing.
 *   npx tsx bench/pypi.ts            # BENCH_FILES, BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_SAMPLES
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inParallel, postPackage, publishLines, uploadRetries, waitPublished, type PublishLine } from './lib/bench-client';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { createMysqlDatabase } from '../test/helpers/mysql';
import { py } from '../test/unit/pypi/helpers';

const FILES = Number(process.env.BENCH_FILES ?? 2000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 10);
const REPO = 'bench';
const JSON_TYPE = 'application/vnd.pypi.simple.v1+json';

/** Tiny valid wheels, all written by one Python process (one spawn, not one per file). */
function buildWheels(dir: string, project: string, versions: string[]): string[] {
  py(
    `
import zipfile, os
for v in A['versions']:
    dist = f"{A['project']}-{v}"
    with zipfile.ZipFile(os.path.join(A['dir'], f"{dist}-py3-none-any.whl"), 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{A['project']}/__init__.py", f"VERSION = {v!r}\\n")
        z.writestr(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\\nName: {A['project']}\\nVersion: {v}\\nSummary: bench\\nRequires-Python: >=3.8\\n")
        z.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: bench\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
        z.writestr(f"{dist}.dist-info/RECORD", "")
`,
    { dir, project, versions },
  );
  return versions.map((v) => path.join(dir, `${project}-${v}-py3-none-any.whl`));
}



async function upload(srv: ChildServer, file: string, wait: boolean): Promise<number> {
  return postPackage(srv, file, { provider: 'pypi', reponame: REPO }, wait);
}

const settled = (srv: ChildServer) => waitPublished(srv, 'pypi', REPO);


const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => `median ${median(xs).toFixed(1)} ms (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}, n=${xs.length})`;

/** Timed uploads with wait; returns latencies and the server's publish durations per scope meanwhile. */
async function timedUploads(srv: ChildServer, files: string[], scope: string) {
  const latencies: number[] = [];
  const before = publishLines(srv).length;
  for (const f of files) {
    const t0 = process.hrtime.bigint();
    await upload(srv, f, true);
    latencies.push(ms(t0));
  }
  const lines = publishLines(srv).slice(before);
  const of = (s: string) => lines.filter((l) => l.scope === s);
  return { latencies, project: of(scope), root: of('root') };
}

/** Node's fetch keeps connections alive (its global undici pool). */
async function rate(url: string, workers: number, seconds: number): Promise<{ rps: number; bytes: number }> {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < end) {
        const r = await fetch(url, { headers: { Accept: JSON_TYPE } });
        const b = await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`GET ${url}: ${r.status}`);
        bytes = b.byteLength;
        n++;
      }
    }),
  );
  return { rps: n / seconds, bytes };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-pypi-'));
  const wheelsDir = path.join(dir, 'wheels');
  fs.mkdirSync(wheelsDir);
  let t0 = process.hrtime.bigint();
  const bulk = buildWheels(wheelsDir, 'big_project', Array.from({ length: FILES }, (_, i) => `1.${i}`));
  const extra = buildWheels(wheelsDir, 'big_project', Array.from({ length: SAMPLES }, (_, i) => `2.${i}`));
  const small = buildWheels(wheelsDir, 'small_project', Array.from({ length: SAMPLES }, (_, i) => `0.${i}`));
  console.log(`built ${bulk.length + extra.length + small.length} wheels in ${(ms(t0) / 1000).toFixed(1)} s`);

  const env: Record<string, string> = { DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'info', PUBLISH_SWEEP_SECONDS: '1' };
  const db = process.env.BENCH_DB === 'mysql' ? await createMysqlDatabase() : null;
  if (db) env.DATABASE_URL = db.url;
  const srv = await startChildServer(env);
  try {
    t0 = process.hrtime.bigint();
    await inParallel(bulk, CONCURRENCY, (f) => upload(srv, f, false));
    const stored = ms(t0);
    await settled(srv);
    const total = ms(t0);
    console.log(`db:                          ${env.DATABASE_URL ? 'mysql' : 'sqlite'}`);
    console.log(`insert ${FILES} files (wait=0, ${CONCURRENCY} parallel): ${(stored / 1000).toFixed(1)} s (${(FILES / (stored / 1000)).toFixed(0)} files/s), all published after ${(total / 1000).toFixed(1)} s`);

    const big = await timedUploads(srv, extra, 'project/big-project');
    console.log(`publish 1 more file into the ${FILES}-file project (upload + wait -> 201): ${fmt(big.latencies)}`);
    console.log(`  server publish durations: project/big-project ${fmt(big.project.map((l) => l.durationMs))}, ${big.project[0]?.entries ?? '?'} entries loaded`);
    console.log(`                            root                ${fmt(big.root.map((l) => l.durationMs))}, ${big.root[0]?.entries ?? '?'} entries loaded`);
    const sm = await timedUploads(srv, small, 'project/small-project');
    console.log(`publish 1 file into a small project next to it (upload + wait -> 201): ${fmt(sm.latencies)}`);
    console.log(`  server publish durations: project/small-project ${fmt(sm.project.map((l) => l.durationMs))}, ${sm.project.at(-1)?.entries ?? '?'} entries loaded`);
    console.log(`                            root                  ${fmt(sm.root.map((l) => l.durationMs))}, ${sm.root[0]?.entries ?? '?'} entries loaded`);

    const url = `${srv.url}/repo/pypi/${REPO}/big-project/`;
    await rate(url, 1, 0.5); // warm-up
    const seq = await rate(url, 1, SECONDS);
    const conc = await rate(url, CONCURRENCY, SECONDS);
    console.log(`JSON page of the ${FILES + SAMPLES}-file project: ${(seq.bytes / 1024).toFixed(0)} KiB`);
    console.log(`  sequential (1 connection, keep-alive): ${seq.rps.toFixed(0)} req/s (${((seq.rps * seq.bytes) / 1e6).toFixed(0)} MB/s)`);
    console.log(`  concurrent (${CONCURRENCY} connections, keep-alive): ${conc.rps.toFixed(0)} req/s (${((conc.rps * conc.bytes) / 1e6).toFixed(0)} MB/s)`);
    if (uploadRetries) console.log(`uploads retried after a closed keep-alive connection: ${uploadRetries}`);
    console.log(`server RSS: ${(srv.rssKb() / 1024).toFixed(0)} MiB now, peak ${(srv.peakRssKb() / 1024).toFixed(0)} MiB`);
  } catch (e) {
    console.error(srv.output().split('\n').filter((l) => !l.includes('"msg":"request"') && !l.includes('"msg":"publish"')).slice(-30).join('\n'));
    throw e;
  } finally {
    await srv.stop();
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
