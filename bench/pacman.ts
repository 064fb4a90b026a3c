/**
 * pacman publish latency at repository scale: for repositories of 1,000 and 10,000 packages
 * (BENCH_SIZES=1000,10000 to change), the time from uploading one more package to the new
 * signed db (POST /addpkg with wait -> 201: parse, sign the package, store, rebuild and sign
 * <repo>.db and <repo>.files), next to the real `repo-add -s` adding the same package file to
 * a db of the same size, in the same run. Prints figures; asserts nothing.
 *
 * One package is built by the real makepkg; the base sets are synthesized in-process
 * (.pkg.tar.gz with a .PKGINFO and one file each, tar-stream + zlib), uploaded with wait=0 in
 * parallel batches and published by a last upload with wait. The repo-add db of the same size
 * is built first over the same files (repo-add calls over slices, one per CPU, merged); only
 * the single add is timed, on a fresh copy of that db for each trial.
 *   npx tsx bench/pacman.ts            (SQLite; BENCH_DB=mysql for MariaDB on 127.0.0.1)
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inParallel, postPackage, publishLines } from './lib/bench-client';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { createMysqlDatabase } from '../test/helpers/mysql';
import { makepkg } from '../test/unit/pacman/helpers';
import { synthPackage } from '../test/helpers/synth-pacman';
import { packagerKey, readDb } from '../test/integration/pacman-tools';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const CONCURRENCY = 16;

const ms = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);

async function post(server: ChildServer, file: string, repo: string, wait: boolean): Promise<number> {
  return postPackage(server, file, { provider: 'pacman', reponame: repo }, wait);
}

/** Server-side `publish` log lines (LOG_LEVEL=info) for one repository: build durations. */
function publishLogs(server: ChildServer, repo: string): Array<{ entries: number; durationMs: number }> {
  return publishLines(server).filter((l) => l.repo === `pacman/${repo}`);
}

/**
 * The reference db of `files.length` packages: repo-add takes many files per call but is slow
 * (~60 ms per package, forks per file), so one call per CPU over a slice each, then the
 * `<name>-<version>/` directories of the partial dbs are merged into one db and one files db
 * the way repo-add writes them (bsdtar -c of the directories, gzip).
 */
async function repoAddParallel(refDir: string, files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parts = Math.max(1, Math.min(os.cpus().length, Math.ceil(files.length / 500)));
  const size = Math.ceil(files.length / parts);
  await Promise.all(Array.from({ length: parts }, (_, k) => new Promise<void>((resolve, reject) => {
    const partDir = path.join(refDir, `part-${k}`);
    fs.mkdirSync(partDir);
    const child = spawn('repo-add', ['-q', path.join(partDir, 'part.db.tar.gz'), ...files.slice(k * size, (k + 1) * size)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`repo-add exited ${code}`))));
  })));
  for (const kind of ['db', 'files']) {
    const merged = path.join(refDir, `merged-${kind}`);
    fs.mkdirSync(merged);
    for (let k = 0; k < parts; k++) execFileSync('bsdtar', ['-xf', path.join(refDir, `part-${k}`, `part.${kind}.tar.gz`), '-C', merged]);
    const dirs = fs.readdirSync(merged).sort();
    fs.writeFileSync(path.join(merged, '.list'), dirs.join('\n') + '\n');
    execFileSync('sh', ['-c', `bsdtar -cf - -T .list | gzip -6 > ${JSON.stringify(path.join(refDir, `ref.${kind}.tar.gz`))}`], { cwd: merged });
    fs.rmSync(merged, { recursive: true, force: true });
    fs.symlinkSync(`ref.${kind}.tar.gz`, path.join(refDir, `ref.${kind}`));
  }
  for (let k = 0; k < parts; k++) fs.rmSync(path.join(refDir, `part-${k}`), { recursive: true, force: true });
  return parts;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-pacman-'));
  const env: Record<string, string> = { DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'info' };
  let dropDb: (() => Promise<void>) | undefined;
  if (process.env.BENCH_DB === 'mysql') {
    const db = await createMysqlDatabase();
    env.DATABASE_URL = db.url;
    dropDb = db.drop;
  }
  const server = await startChildServer(env);
  current = server;
  const key = packagerKey(dir, 'repo-add bench <bench@example.org>');
  currentKey = key;
  const real = makepkg({ name: 'bench-real', pkgver: '1.0', arch: 'x86_64' }, dir);
  console.log(`makepkg package: ${path.basename(real)} (${fs.statSync(real).size} bytes); database: ${process.env.BENCH_DB === 'mysql' ? 'MariaDB' : 'SQLite'}`);
  const rows: string[][] = [];

  for (const n of SIZES) {
    const repo = `bench${n}`;
    const pkgDir = path.join(dir, repo);
    fs.mkdirSync(pkgDir);
    let t = process.hrtime.bigint();
    const base: string[] = [];
    for (let i = 0; i < n; i++) base.push(await synthPackage(pkgDir, `synth-${String(i).padStart(6, '0')}`, i));
    const probes: string[] = [];
    for (let i = 0; i < TRIALS - 1; i++) probes.push(await synthPackage(pkgDir, `probe-${i}`, n + i));
    const synthMs = ms(t);

    // Base set: wait=0 in parallel batches, then one upload with wait publishes everything.
    t = process.hrtime.bigint();
    await inParallel(base.slice(0, -1), CONCURRENCY, (f) => post(server, f, repo, false));
    await post(server, base[base.length - 1]!, repo, true);
    const insertMs = ms(t);
    const publishedBase = publishLogs(server, repo).at(-1);

    // Timed: one more package each, upload -> 201 once the new signed db is served.
    const ours: number[] = [];
    for (const file of [real, ...probes]) {
      t = process.hrtime.bigint();
      await post(server, file, repo, true);
      ours.push(ms(t));
    }
    const builds = publishLogs(server, repo).slice(-ours.length).map((l) => l.durationMs);
    const db = Buffer.from(await (await fetch(`${server.url}/repo/pacman/${repo}/x86_64/${repo}.db`)).arrayBuffer());
    const files = Buffer.from(await (await fetch(`${server.url}/repo/pacman/${repo}/x86_64/${repo}.files`)).arrayBuffer());
    const listed = (await readDb(db)).size;

    // repo-add: a db of the same size first (one call), then the same single package, signed.
    const refDir = path.join(dir, `ref-${n}`);
    fs.mkdirSync(refDir);
    const env2 = { ...process.env, LANG: 'C.UTF-8', GNUPGHOME: key.home };
    t = process.hrtime.bigint();
    const parts = await repoAddParallel(refDir, base, env2);
    const refBaseMs = ms(t);
    const refAdd: number[] = [];
    const refAddUnsigned: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      for (const [signed, out] of [[true, refAdd], [false, refAddUnsigned]] as const) {
        const work = path.join(dir, `ref-${n}-${trial}-${signed ? 's' : 'u'}`);
        fs.mkdirSync(work);
        for (const f of fs.readdirSync(refDir)) if (!fs.lstatSync(path.join(refDir, f)).isSymbolicLink()) fs.copyFileSync(path.join(refDir, f), path.join(work, f));
        t = process.hrtime.bigint();
        execFileSync('repo-add', ['-q', ...(signed ? ['-s', '-k', key.fingerprint] : []), path.join(work, 'ref.db.tar.gz'), real], { env: env2, stdio: ['ignore', 'ignore', 'inherit'] });
        out.push(ms(t));
        fs.rmSync(work, { recursive: true, force: true });
      }
    }
    const refDbSize = fs.statSync(path.join(refDir, 'ref.db.tar.gz')).size;

    console.log(`\n== ${n} packages`);
    console.log(`synthesize ${n + TRIALS - 1} .pkg.tar.gz:          ${fmt(synthMs)}`);
    console.log(`upload base set (wait=0, ${CONCURRENCY} parallel) + publish: ${fmt(insertMs)} (${(n / (insertMs / 1000)).toFixed(0)} uploads/s; last build ${publishedBase ? fmt(publishedBase.durationMs) : '?'})`);
    console.log(`artifactd upload -> 201 with new signed db: ${ours.map(fmt).join(', ')}  (median ${fmt(median(ours))}; first = makepkg package)`);
    console.log(`  of which db+files build/sign/store:       ${builds.map(fmt).join(', ')}  (median ${fmt(median(builds))})`);
    console.log(`  served db: ${listed} entries, ${db.length} bytes; files db ${files.length} bytes`);
    console.log(`repo-add base db (${n} files, ${parts} parallel calls, merged): ${fmt(refBaseMs)}; db ${refDbSize} bytes`);
    console.log(`repo-add -s adding the same package:        ${refAdd.map(fmt).join(', ')}  (median ${fmt(median(refAdd))})`);
    console.log(`repo-add (unsigned) adding it:              ${refAddUnsigned.map(fmt).join(', ')}  (median ${fmt(median(refAddUnsigned))})`);
    rows.push([String(n), fmt(median(ours)), fmt(median(builds)), fmt(median(refAdd)), fmt(median(refAddUnsigned))]);
  }

  console.log('\npackages | artifactd upload->201 | of which publish | repo-add -s | repo-add');
  for (const r of rows) console.log(r.join(' | '));
  console.log(`server peak RSS: ${(server.peakRssKb() / 1024).toFixed(0)} MiB`);
  await server.stop();
  key.close();
  await dropDb?.();
  fs.rmSync(dir, { recursive: true, force: true });
}

let current: ChildServer | undefined;
let currentKey: { close(): void } | undefined;
main().catch(async (e) => {
  console.error(e);
  if (current) {
    console.error(`server output (tail):\n${current.output().split('\n').filter((l) => !l.includes('"msg":"request"')).slice(-30).join('\n')}`);
    await current.stop(); // do not leave the server running
  }
  currentKey?.close();
  process.exit(1);
});
