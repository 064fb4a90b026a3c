/**
 * Add-1 against repository size (issue 19: "at 100,000 within 3x of the same operation at
 * 1,000", server RSS under 300 MiB) for pacman, apk and rpm, whose indexes are built from keys
 * first (PublishContext.keyed). Per format two servers run at once (compiled, SQLite), one
 * repository of BENCH_SMALL packages and one of BENCH_LARGE, each filled through HTTP with one
 * template package and then by copying its row in SQL (bench/lib/sql-fill.ts); the boot sweep
 * publishes the filled repository (its time is printed: every run is deflated then). Then
 * BENCH_ROUNDS interleaved rounds of one more package into each (upload with wait -> 201, then
 * the served index is checked to list it), the large/small ratio per round, medians, and each
 * server's peak RSS during the timed publishes. Asserts nothing.
 *   npx tsx bench/add-one-scale.ts     BENCH_FORMATS=pacman,apk,rpm BENCH_SMALL=1000 BENCH_LARGE=100000 BENCH_ROUNDS=5
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { postPackage, waitPublished } from './lib/bench-client';
import { interleaved, median, pairedReport } from './lib/paired';
import { cloneRows } from './lib/sql-fill';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { synthPackage } from '../test/helpers/synth-pacman';
import { buildApk, pkginfoFor } from '../test/unit/apk/apk-builder';
import { rpmbuild } from '../test/unit/rpm/helpers';

const FORMATS = (process.env.BENCH_FORMATS ?? 'pacman,apk,rpm').split(',');
const SMALL = Number(process.env.BENCH_SMALL ?? 1000);
const LARGE = Number(process.env.BENCH_LARGE ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REPO = 'bench';
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

interface Format {
  provider: string;
  template: string;
  /** A package file named `name`, in `dir`. */
  make(dir: string, name: string, i: number): Promise<string>;
  /** The served index lists `name`. */
  lists(srv: ChildServer, name: string): Promise<boolean>;
}

const gunzipAll = (b: Buffer) => zlib.gunzipSync(b).toString('latin1');

const formats: Record<string, Format> = {
  pacman: {
    provider: 'pacman',
    template: 'tmplpkgzz',
    make: (dir, name, i) => synthPackage(dir, name, i),
    lists: async (srv, name) => gunzipAll(Buffer.from(await (await fetch(`${srv.url}/repo/pacman/${REPO}/x86_64/${REPO}.db`)).arrayBuffer())).includes(`%NAME%\n${name}\n`),
  },
  apk: {
    provider: 'apk',
    template: 'tmplapkzz',
    make: async (dir, name) => {
      const file = path.join(dir, `${name}-1.0-r0.apk`);
      fs.writeFileSync(file, buildApk({ pkginfo: pkginfoFor(name, '1.0-r0', 'x86_64', [['depend', 'musl']]) }).bytes);
      return file;
    },
    // The signature member, then the index member: gunzipSync reads both.
    lists: async (srv, name) => gunzipAll(Buffer.from(await (await fetch(`${srv.url}/repo/apk/${REPO}/main/x86_64/APKINDEX.tar.gz`)).arrayBuffer())).includes(`\nP:${name}\n`),
  },
  rpm: {
    provider: 'rpm',
    template: 'tmplrpmzz',
    make: async (dir, name) => rpmbuild({ name, version: '1.0', arch: 'noarch' }, fs.mkdtempSync(path.join(dir, 'rpm-'))).rpm,
    lists: async (srv, name) => {
      const base = `${srv.url}/repo/rpm/${REPO}`;
      const repomd = await (await fetch(`${base}/repodata/repomd.xml`)).text();
      const primary = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)?.[1];
      return !!primary && gunzipAll(Buffer.from(await (await fetch(`${base}/${primary}`)).arrayBuffer())).includes(`<name>${name}</name>`);
    },
  },
};

interface Side {
  n: number;
  srv: ChildServer;
}

async function side(f: Format, n: number, root: string): Promise<Side> {
  const dir = fs.mkdtempSync(path.join(root, `${f.provider}-${n}-`));
  const dbFile = path.join(dir, 'db.sqlite');
  const env = { DATA_DIR: path.join(dir, 'data'), DATABASE_URL: `sqlite:${dbFile}`, LOG_LEVEL: 'warn' };
  let srv = await startChildServer(env, undefined, { compiled: true });
  await postPackage(srv, await f.make(dir, f.template, 1), { reponame: REPO, provider: f.provider }, true);
  await srv.stop();
  let t0 = process.hrtime.bigint();
  cloneRows(dbFile, f.template, n - 1);
  const copied = ms(t0);
  t0 = process.hrtime.bigint();
  srv = await startChildServer(env, undefined, { compiled: true });
  await waitPublished(srv, f.provider, REPO);
  const coldMs = ms(t0);
  const coldRss = srv.peakRssKb();
  // Once more from a fresh process: its memory is the publishes', not the fill's.
  await srv.stop();
  srv = await startChildServer(env, undefined, { compiled: true });
  t0 = process.hrtime.bigint();
  await postPackage(srv, await f.make(dir, 'firstadd', 2), { reponame: REPO, provider: f.provider }, true);
  console.log(
    `  ${f.provider} ${n}: ${n - 1} rows copied in SQL in ${(copied / 1000).toFixed(1)} s; boot publish ${(coldMs / 1000).toFixed(1)} s (peak RSS ${(coldRss / 1024).toFixed(0)} MiB);` +
      ` restarted, first add (cold memo: every run built) ${(ms(t0) / 1000).toFixed(1)} s, peak RSS ${(srv.peakRssKb() / 1024).toFixed(0)} MiB`,
  );
  // Peak RSS of the timed publishes only: "5" resets VmHWM (proc(5), /proc/pid/clear_refs).
  fs.writeFileSync(`/proc/${srv.pid}/clear_refs`, '5');
  return { n, srv };
}

async function timedAdd(f: Format, s: Side, file: string, name: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  await postPackage(s.srv, file, { reponame: REPO, provider: f.provider }, true);
  const d = ms(t0);
  if (!(await f.lists(s.srv, name))) throw new Error(`${f.provider} ${s.n}: the served index does not list ${name}`);
  return d;
}

async function run(f: Format, root: string): Promise<void> {
  const sides: Side[] = [];
  try {
    sides.push(await side(f, SMALL, root), await side(f, LARGE, root));
    const [small, large] = sides as [Side, Side];
    const dir = fs.mkdtempSync(path.join(root, 'new-'));
    const files = await Promise.all(Array.from({ length: ROUNDS }, (_, i) => f.make(dir, `addone${i}`, 1000 + i)));
    const p = await interleaved(
      ROUNDS,
      (i) => timedAdd(f, small, files[i]!, `addone${i}`),
      (i) => timedAdd(f, large, files[i]!, `addone${i}`),
    );
    console.log([`  ${f.provider}: add 1 (upload -> 201, new signed index listing it), ${SMALL} vs ${LARGE}:`, ...pairedReport(p, String(SMALL), String(LARGE))].join('\n'));
    console.log(`  ${f.provider}: median ${LARGE}/${SMALL}: ${median(p.ratios).toFixed(2)}x; peak RSS during the timed publishes ${(small.srv.peakRssKb() / 1024).toFixed(0)} / ${(large.srv.peakRssKb() / 1024).toFixed(0)} MiB`);
  } finally {
    for (const s of sides) await s.srv.stop();
  }
}

async function main() {
  execFileSync(process.execPath, [path.join(__dirname, '../scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  console.log(`add 1 vs repository size: ${FORMATS.join(', ')}; ${SMALL} and ${LARGE}; ${ROUNDS} interleaved rounds; sqlite; load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-add-one-'));
  try {
    for (const name of FORMATS) await run(formats[name]!, root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
