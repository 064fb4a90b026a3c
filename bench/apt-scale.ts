/**
 * apt add-1 at scale (issue 19): for each size in BENCH_SIZES (default 1000,10000,100000),
 * - fill one distribution of a fresh server (child process, SQLite or BENCH_DB=mysql) with
 *   POST /addpkg/batch (1,000 .debs a request, wait=0), and a reprepro repository with the
 *   same files (`includedeb --export=never` in batches, then one `export`);
 * - then BENCH_ROUNDS interleaved rounds: A = one more .deb through HTTP with the default
 *   wait (201 = the new signed InRelease is served; checked afterwards), B = `reprepro
 *   includedeb` of one more .deb (exports Packages/.gz/.xz, signs InRelease, Ed25519);
 *   per-round ratio and medians (bench/lib/paired.ts);
 * - after the fill the server restarts (dist/server.js, on the same data), so its memory is the
 *   publishes' and not the import's; its first add-1 is timed apart (cold: the segment memo
 *   is per process); peak RSS (VmHWM) of that one and, reset through /proc/<pid>/clear_refs,
 *   of the timed rounds.
 * .debs are synthesized in-process (bench/lib/debs.ts). Prints figures; asserts nothing.
 * BENCH_REPREPRO_SIGNED=0: reprepro exports without signing (the issue's anchor at 1,000/2,000).
 *   npx tsx bench/apt-scale.ts     BENCH_SIZES=1000,10000,100000 BENCH_ROUNDS=5 BENCH_REPREPRO_MAX=100000 BENCH_REPREPRO_SIGNED=1
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { postPackage } from './lib/bench-client';
import { writeDebs } from './lib/debs';
import { interleaved, median, pairedReport } from './lib/paired';
import { repreproRepo } from './lib/reprepro';
import { batchFill, resetPeakRss, scaleRun } from './lib/scale-run';
import type { ChildServer } from '../test/helpers/child-server';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Sizes above this get no reprepro anchor (say so in the output). */
const REPREPRO_MAX = Number(process.env.BENCH_REPREPRO_MAX ?? 100_000);
const REPREPRO_SIGNED = process.env.BENCH_REPREPRO_SIGNED !== '0';
const REPO = 'bench';

const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** The served InRelease names a Packages.xz (by hash) listing the package. */
async function servedHas(srv: ChildServer, pkg: string): Promise<boolean> {
  const base = `${srv.url}/repo/apt/${REPO}/dists/stable`;
  const inRelease = await (await fetch(`${base}/InRelease`)).text();
  const m = / ([0-9a-f]{64}) +\d+ main\/binary-amd64\/Packages\.gz\n/.exec(inRelease.slice(inRelease.indexOf('\nSHA256:')));
  if (!m || !inRelease.includes('-----BEGIN PGP SIGNATURE-----')) return false;
  const gz = Buffer.from(await (await fetch(`${base}/main/binary-amd64/by-hash/SHA256/${m[1]}`)).arrayBuffer());
  return new RegExp(`^Package: ${pkg}$`, 'm').test(zlib.gunzipSync(gz).toString());
}

interface Reprepro {
  add(file: string): void;
  has(pkg: string): boolean;
}

function reprepro(dir: string): Reprepro & { fill(files: string[]): number } {
  const { base, run } = repreproRepo(dir, REPREPRO_SIGNED);
  return {
    fill(files) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < files.length; i += 2000) run(['--export=never', 'includedeb', 'stable', ...files.slice(i, i + 2000)]);
      run(['export', 'stable']);
      return secs(t0);
    },
    add: (file) => void run(['includedeb', 'stable', file]),
    has(pkg) {
      const signedOk = !REPREPRO_SIGNED || fs.readFileSync(path.join(base, 'dists/stable/InRelease'), 'utf8').includes('-----BEGIN PGP SIGNATURE-----');
      const packages = fs.readFileSync(path.join(base, 'dists/stable/main/binary-amd64/Packages'), 'utf8');
      return signedOk && new RegExp(`^Package: ${pkg}$`, 'm').test(packages);
    },
  };
}

const pkgOf = (file: string) => path.basename(file).split('_')[0]!;
/** One .deb with the default wait: 201 once the new signed InRelease is served. */
const postOne = (srv: ChildServer, file: string) => postPackage(srv, file, { provider: 'apt', reponame: REPO, dist: 'stable' }, true);

async function size(n: number): Promise<string[]> {
  return scaleRun(`bench-apt-scale-${n}`, 'warn', async ({ dir, start }) => {
    const out: string[] = [];
    let t0 = process.hrtime.bigint();
    const bulk = writeDebs(path.join(dir, 'debs'), 'pkg', n);
    const extra = writeDebs(path.join(dir, 'extra'), 'extra', ROUNDS + 1, 0);
    out.push(`== ${n} packages (a tenth Architecture: all; amd64 + arm64), synthesized in ${secs(t0).toFixed(0)} s`);
    const fillSrv = await start();
    const fill = await batchFill(fillSrv, bulk, 'apt', { reponame: REPO, dist: 'stable' });
    out.push(`  artifactd fill: POST /addpkg/batch x${fill.requests}, published after ${fill.seconds.toFixed(0)} s; peak RSS during fill ${(fillSrv.peakRssKb() / 1024).toFixed(0)} MiB`);
    const rep = n <= REPREPRO_MAX ? reprepro(dir) : null;
    if (rep) out.push(`  reprepro fill: includedeb --export=never in batches of 2000 + export: ${rep.fill(bulk).toFixed(0)} s`);
    else out.push(`  reprepro: skipped above BENCH_REPREPRO_MAX=${REPREPRO_MAX}`);
    // A fresh process on the same data: its memory is the publishes', not the import's, and
    // its first publish compresses every segment again (the memo is per process).
    const s = await start(true);
    t0 = process.hrtime.bigint();
    await postOne(s, extra[ROUNDS]!);
    let ok = await servedHas(s, pkgOf(extra[ROUNDS]!));
    out.push(`  artifactd restarted (dist/server.js); first add 1 (cold: every segment compressed): ${(ms(t0) / 1000).toFixed(1)} s, peak RSS ${(s.peakRssKb() / 1024).toFixed(0)} MiB`);
    resetPeakRss(s);
    const a = async (i: number) => {
      const t = process.hrtime.bigint();
      await postOne(s, extra[i]!);
      const d = ms(t);
      ok &&= await servedHas(s, pkgOf(extra[i]!));
      return d;
    };
    const b = async (i: number) => {
      const t = process.hrtime.bigint();
      rep!.add(extra[i]!);
      const d = ms(t);
      ok &&= rep!.has(pkgOf(extra[i]!));
      return d;
    };
    if (rep) {
      const p = await interleaved(ROUNDS, a, b);
      out.push(`  add 1 .deb: artifactd (HTTP upload -> 201, new signed InRelease) vs reprepro includedeb (${REPREPRO_SIGNED ? 'signed' : 'unsigned'}):`, ...pairedReport(p, 'artifactd', 'reprepro'));
      // The median line above has the median ratio (reprepro's time over artifactd's).
      if (!ok) out.push('  (A CHECK FAILED: the index did not list the new package!)');
    } else {
      const xs: number[] = [];
      for (let i = 0; i < ROUNDS; i++) xs.push(await a(i));
      out.push(`  add 1 .deb: artifactd median ${median(xs).toFixed(0)} ms [${xs.map((x) => x.toFixed(0)).join(', ')}]${ok ? '' : '  (CHECK FAILED)'}`);
    }
    out.push(`  server peak RSS during the timed publishes: ${(s.peakRssKb() / 1024).toFixed(0)} MiB`);
    return out;
  });
}

async function main() {
  execFileSync(process.execPath, [path.join(__dirname, '../scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  console.log(`apt add-1 at scale: sizes ${SIZES.join(', ')}; ${ROUNDS} interleaved rounds; db ${process.env.BENCH_DB === 'mysql' ? 'mysql' : 'sqlite'}; load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`);
  for (const n of SIZES) for (const line of await size(n)) console.log(line);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
