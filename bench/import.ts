/**
 * Bulk import (issue 19): BENCH_N (default 10,000) synthetic .debs and as many pacman packages
 * into an empty repository, end to end until the signed index lists them all:
 * - artifactd: `rpcli upload <dir>` (batches over parallel connections, one publish at the
 *   end) into a fresh server (a child process, SQLite or BENCH_DB=mysql), then the served
 *   InRelease / pacman db is read back and must list every package;
 * - the anchors on the same files: `reprepro includedeb` (Packages/.gz/.xz, InRelease signed
 *   with an Ed25519 test key) and `repo-add -s` (one call over every file, db signed).
 * Rounds are interleaved A B A B (BENCH_ROUNDS, default 3); medians, ratios and the server's
 * peak RSS (VmHWM) are printed. BENCH_PACMAN_N sets the pacman count alone (repo-add forks
 * several processes per package and takes minutes for 10,000). Prints figures; asserts nothing.
 *   npx tsx bench/import.ts        BENCH_N=10000 BENCH_ROUNDS=3 BENCH_PARALLEL=4
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startChildServer } from '../test/helpers/child-server';
import { createMysqlDatabase } from '../test/helpers/mysql';
import { synthPackage } from '../test/helpers/synth-pacman';
import { packagerKey, readDb, type PackagerKey } from '../test/integration/pacman-tools';
import { writeDebs } from './lib/debs';

const N = Number(process.env.BENCH_N ?? 10_000);
const PACMAN_N = Number(process.env.BENCH_PACMAN_N ?? N);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARALLEL = process.env.BENCH_PARALLEL ?? '4';
const ROOT = path.resolve(__dirname, '..');

const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Run {
  seconds: number;
  listed: number;
  peakRssMb?: number;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', reject);
    c.on('exit', (code) => resolve(code ?? -1));
  });
}

/** artifactd: a fresh server, `rpcli upload <dir>`, then count what the signed index serves. */
async function artifactd(work: string, provider: 'apt' | 'pacman', dir: string): Promise<Run> {
  const env: Record<string, string> = { DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'warn' };
  const db = process.env.BENCH_DB === 'mysql' ? await createMysqlDatabase() : null;
  if (db) env.DATABASE_URL = db.url;
  const srv = await startChildServer(env);
  try {
    const args = [path.join(ROOT, 'dist/rpcli.js'), '-s', srv.url, '-t', srv.token, 'upload', '-y', provider, '-r', 'bench', '--parallel', PARALLEL, ...(provider === 'apt' ? ['-a', 'dist=stable'] : []), dir];
    const t0 = process.hrtime.bigint();
    const code = await run(process.execPath, args, process.env);
    const seconds = secs(t0);
    if (code !== 0) throw new Error(`rpcli upload exited ${code}`);
    const listed = provider === 'apt' ? await aptListed(srv.url) : (await readDb(Buffer.from(await (await fetch(`${srv.url}/repo/pacman/bench/x86_64/bench.db`)).arrayBuffer()))).size;
    return { seconds, listed, peakRssMb: srv.peakRssKb() / 1024 };
  } finally {
    await srv.stop();
    await db?.drop();
  }
}

/** Packages listed by the Packages.gz (by hash) that the served, signed InRelease names. */
async function aptListed(url: string): Promise<number> {
  const base = `${url}/repo/apt/bench/dists/stable`;
  const inRelease = await (await fetch(`${base}/InRelease`)).text();
  if (!inRelease.includes('-----BEGIN PGP SIGNATURE-----')) return 0;
  let n = 0;
  for (const arch of ['amd64', 'arm64']) {
    const m = new RegExp(` ([0-9a-f]{64}) +\\d+ main/binary-${arch}/Packages\\.gz\\n`).exec(inRelease.slice(inRelease.indexOf('\nSHA256:')));
    if (!m) continue;
    const text = zlib.gunzipSync(Buffer.from(await (await fetch(`${base}/main/binary-${arch}/by-hash/SHA256/${m[1]}`)).arrayBuffer())).toString();
    // `all` packages are listed under every architecture: count each once.
    n += (text.match(arch === 'amd64' ? /^Package: /gm : /^Architecture: arm64$/gm) ?? []).length;
  }
  return n;
}

function reprepro(work: string, files: string[], gnupg: string, fpr: string): Run {
  const base = path.join(work, 'reprepro');
  fs.mkdirSync(path.join(base, 'conf'), { recursive: true });
  fs.writeFileSync(
    path.join(base, 'conf/distributions'),
    `Origin: bench\nLabel: bench\nCodename: stable\nArchitectures: amd64 arm64\nComponents: main\nDescription: bench\nSignWith: ${fpr}\nDebIndices: Packages Release . .gz .xz\n`,
  );
  const env = { ...process.env, GNUPGHOME: gnupg };
  const t0 = process.hrtime.bigint();
  // Batches keep the command line short; reprepro exports and signs after each call.
  for (let i = 0; i < files.length; i += 2000) execFileSync('reprepro', ['-b', base, '--silent', 'includedeb', 'stable', ...files.slice(i, i + 2000)], { env, stdio: 'pipe' });
  const seconds = secs(t0);
  const packages = fs.readFileSync(path.join(base, 'dists/stable/main/binary-amd64/Packages'), 'utf8');
  const signed = fs.readFileSync(path.join(base, 'dists/stable/InRelease'), 'utf8').includes('-----BEGIN PGP SIGNATURE-----');
  return { seconds, listed: signed ? (packages.match(/^Package: /gm) ?? []).length : 0 };
}

async function repoAdd(work: string, files: string[], key: PackagerKey): Promise<Run> {
  const db = path.join(work, 'ref', 'bench.db.tar.gz');
  fs.mkdirSync(path.dirname(db), { recursive: true });
  const t0 = process.hrtime.bigint();
  const code = await run('repo-add', ['-q', '-s', '-k', key.fingerprint, db, ...files], { ...process.env, LANG: 'C.UTF-8', GNUPGHOME: key.home });
  const seconds = secs(t0);
  if (code !== 0) throw new Error(`repo-add exited ${code}`);
  const signed = fs.existsSync(`${db}.sig`);
  return { seconds, listed: signed ? (await readDb(fs.readFileSync(db))).size : 0 };
}

function summary(label: string, ours: Run[], anchor: Run[], anchorName: string, n: number): string[] {
  const a = median(ours.map((r) => r.seconds));
  const b = median(anchor.map((r) => r.seconds));
  const ok = ours.every((r) => r.listed === n) && anchor.every((r) => r.listed === n);
  return [
    `${label}: ${n} packages, ${ours.length} interleaved rounds${ok ? '' : '  (SOME RUN DID NOT LIST EVERY PACKAGE!)'}`,
    `  artifactd rpcli upload <dir>: median ${a.toFixed(1)} s (${(n / a).toFixed(0)}/s)  [${ours.map((r) => r.seconds.toFixed(1)).join(', ')}]  peak server RSS ${Math.max(...ours.map((r) => r.peakRssMb ?? 0)).toFixed(0)} MiB`,
    `  ${anchorName}: median ${b.toFixed(1)} s (${(n / b).toFixed(0)}/s)  [${anchor.map((r) => r.seconds.toFixed(1)).join(', ')}]`,
    `  ratio artifactd / ${anchorName.split(' ')[0]}: ${(a / b).toFixed(2)}`,
  ];
}

async function main() {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-import-'));
  fs.chmodSync(dir, 0o755);
  const lines: string[] = [`bulk import benchmark: db ${process.env.BENCH_DB === 'mysql' ? 'mysql' : 'sqlite'}, rpcli --parallel ${PARALLEL}, load average at start ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`];
  try {
    let t0 = process.hrtime.bigint();
    const debs = writeDebs(path.join(dir, 'debs'), 'pkg', N);
    const pkgDir = path.join(dir, 'pkgs');
    fs.mkdirSync(pkgDir);
    const pkgs: string[] = [];
    for (let i = 0; i < PACMAN_N; i++) pkgs.push(await synthPackage(pkgDir, `synth-${String(i).padStart(6, '0')}`, i));
    console.log(`synthesized ${N} .debs and ${PACMAN_N} .pkg.tar.gz in ${secs(t0).toFixed(1)} s`);

    const key = packagerKey(dir, 'Import Bench <bench@example.org>');
    const ours = { apt: [] as Run[], pacman: [] as Run[] };
    const anchors = { reprepro: [] as Run[], repoAdd: [] as Run[] };
    for (let round = 0; round < ROUNDS; round++) {
      const work = (name: string) => fs.mkdtempSync(path.join(dir, `${name}-${round}-`));
      const step = async <T extends Run>(name: string, f: (w: string) => T | Promise<T>, into: Run[]) => {
        const w = work(name);
        t0 = process.hrtime.bigint();
        const r = await f(w);
        into.push(r);
        console.log(`round ${round + 1} ${name}: ${r.seconds.toFixed(1)} s, ${r.listed} listed${r.peakRssMb ? `, peak RSS ${r.peakRssMb.toFixed(0)} MiB` : ''}`);
        fs.rmSync(w, { recursive: true, force: true });
      };
      await step('artifactd-apt', (w) => artifactd(w, 'apt', path.join(dir, 'debs')), ours.apt);
      await step('reprepro', (w) => reprepro(w, debs, key.home, key.fingerprint), anchors.reprepro);
      if (PACMAN_N > 0) {
        await step('artifactd-pacman', (w) => artifactd(w, 'pacman', pkgDir), ours.pacman);
        await step('repo-add', (w) => repoAdd(w, pkgs, key), anchors.repoAdd);
      }
    }
    key.close();
    lines.push(...summary('apt', ours.apt, anchors.reprepro, 'reprepro includedeb', N));
    if (PACMAN_N > 0) lines.push(...summary('pacman', ours.pacman, anchors.repoAdd, 'repo-add -s', PACMAN_N));
    lines.push(`load average at end ${os.loadavg()[0]!.toFixed(1)} (the machine is shared: absolute figures vary, ratios are from interleaved runs)`);
    console.log(`\n${lines.join('\n')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
