/**
 * pacman add-1 at repository scale (issue 19): for each size in BENCH_SIZES (default
 * 1000,2000,10000),
 * - fill one repository of a fresh server (child process, SQLite or BENCH_DB=mysql) with
 *   synthetic packages (test/helpers/synth-pacman.ts) through POST /addpkg/batch (1,000 a
 *   request, wait=0), and write the base `.db` and `.files` repo-add would write for the same
 *   files (writeBaseDb: entry for entry as repo-add writes them, checked in the same run against
 *   a real `repo-add` of the first files; repo-add itself needs ~30 ms a package to fill, more
 *   the larger the db: minutes for 10,000);
 * - restart the server (dist/server.js) on the same data, so its memory is the publishes' and
 *   not the fill's; its first add (a real makepkg package; cold: every db segment compressed
 *   again, the memo is per process) is timed apart;
 * - BENCH_ROUNDS interleaved rounds, each: A = one more package through HTTP with the default
 *   wait (201 = the new signed db and files are served; checked afterwards), B = `repo-add -s`
 *   of the same package into a fresh copy of the base db, C = the same unsigned (so every
 *   repo-add round starts from the same state; the copies are not timed); per-round ratios and
 *   medians (bench/lib/paired.ts); the server's publish durations; peak RSS (VmHWM, reset
 *   through /proc/<pid>/clear_refs) of the timed rounds.
 * Prints figures; asserts nothing.
 *   npx tsx bench/pacman.ts     BENCH_SIZES=1000,2000,10000 BENCH_ROUNDS=5 BENCH_DB=mysql
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as openpgp from 'openpgp';
import tar from 'tar-stream';
import { postPackage, publishLines } from './lib/bench-client';
import { interleavedSides, median, sidesReport } from './lib/paired';
import { batchFill, resetPeakRss, scaleRun } from './lib/scale-run';
import type { ChildServer } from '../test/helpers/child-server';
import { synthPackage } from '../test/helpers/synth-pacman';
import { packagerKey, readDb, type PackagerKey } from '../test/integration/pacman-tools';
import { makepkg } from '../test/unit/pacman/helpers';
import { renderDesc, renderFiles } from '../providers/pacman/entry';
import { readPackage } from '../providers/pacman/parse';

const SIZES = (process.env.BENCH_SIZES ?? '1000,2000,10000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Packages the real repo-add adds to check writeBaseDb against. */
const CHECK = 20;
const REPO = 'bench';

const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
/** `<name>-<version>`, the db directory of a package file named as makepkg names it. */
const entryOf = (file: string) => path.basename(file).replace(/-[^-]+\.pkg\.tar\.\w+$/, '');

function collect(pack: tar.Pack): Promise<Buffer> {
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  return new Promise((resolve) => pack.on('end', () => resolve(Buffer.concat(chunks))));
}

/**
 * `<out>.db.tar.gz` and `<out>.files.tar.gz` as `repo-add <out>.db.tar.gz ...files` writes them:
 * a `<name>-<version>/` directory a package holding `desc` (and `files`), rendered by the
 * provider's renderer, which follows repo-add 6.0.2's db_write_entry
 * (docs/formats/pacman.md#database-entries), in a tar, gzip -6. An add with repo-add
 * extracts the whole db and writes and compresses it anew, so for its timing only the entries
 * count, not how this tar was laid out.
 */
async function writeBaseDb(files: readonly string[], out: string): Promise<void> {
  const db = tar.pack();
  const withFiles = tar.pack();
  const done = [collect(db), collect(withFiles)];
  for (const file of files) {
    const data = fs.readFileSync(file);
    const { info, files: list } = await readPackage(file, data.length);
    const hash = (alg: string) => crypto.createHash(alg).update(data).digest('hex');
    const desc = renderDesc(info, { filename: path.basename(file), csize: data.length, md5: hash('md5'), sha256: hash('sha256') });
    const dir = `${info.pkgname}-${info.pkgver}/`;
    for (const p of [db, withFiles]) {
      p.entry({ name: dir, type: 'directory', mode: 0o755 });
      p.entry({ name: `${dir}desc`, mode: 0o644 }, desc);
    }
    withFiles.entry({ name: `${dir}files`, mode: 0o644 }, renderFiles(list));
  }
  db.finalize();
  withFiles.finalize();
  const [dbTar, filesTar] = await Promise.all(done);
  fs.writeFileSync(`${out}.db.tar.gz`, zlib.gzipSync(dbTar!, { level: 6 }));
  fs.writeFileSync(`${out}.files.tar.gz`, zlib.gzipSync(filesTar!, { level: 6 }));
}

/** Throws unless the real repo-add writes, for `sample`, the very entries writeBaseDb wrote. */
async function checkBaseDb(dir: string, sample: readonly string[], base: string): Promise<void> {
  const check = path.join(dir, 'check');
  fs.mkdirSync(check);
  execFileSync('repo-add', ['-q', path.join(check, 'check.db.tar.gz'), ...sample], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const kind of ['db', 'files']) {
    const theirs = await readDb(fs.readFileSync(path.join(check, `check.${kind}.tar.gz`)));
    const ours = await readDb(fs.readFileSync(`${base}.${kind}.tar.gz`));
    for (const [name, e] of theirs) {
      const o = ours.get(name);
      if (o?.desc !== e.desc || o.files !== e.files) throw new Error(`base ${kind} entry ${name} differs from repo-add's:\n${JSON.stringify(o)}\n${JSON.stringify(e)}`);
    }
  }
  fs.rmSync(check, { recursive: true, force: true });
}

/** The served db and files list the entry, and the db's signature verifies with the served repository key. */
async function servedHas(srv: ChildServer, key: openpgp.Key, entry: string): Promise<boolean> {
  const get = async (p: string) => Buffer.from(await (await fetch(`${srv.url}/repo/pacman/${REPO}/${p}`)).arrayBuffer());
  const [db, sig, files] = await Promise.all([get(`x86_64/${REPO}.db`), get(`x86_64/${REPO}.db.sig`), get(`x86_64/${REPO}.files`)]);
  try {
    await openpgp.verify({ message: await openpgp.createMessage({ binary: db }), signature: await openpgp.readSignature({ binarySignature: sig }), verificationKeys: key, expectSigned: true });
  } catch {
    return false;
  }
  return (await readDb(db)).has(entry) && (await readDb(files)).get(entry)?.files !== undefined;
}

/** repo-add of one package into a fresh copy of the base db: returns the time of repo-add alone. */
function repoAdd(dir: string, base: string, key: PackagerKey, signed: boolean, file: string, round: number): { ms: number; ok: boolean } {
  const work = path.join(dir, `round-${round}-${signed ? 's' : 'u'}`);
  fs.mkdirSync(work);
  for (const kind of ['db', 'files']) fs.copyFileSync(`${base}.${kind}.tar.gz`, path.join(work, `ref.${kind}.tar.gz`));
  const db = path.join(work, 'ref.db.tar.gz');
  const t0 = process.hrtime.bigint();
  execFileSync('repo-add', ['-q', ...(signed ? ['-s', '-k', key.fingerprint] : []), db, file], { env: { ...process.env, LANG: 'C.UTF-8', GNUPGHOME: key.home }, stdio: ['ignore', 'ignore', 'inherit'] });
  const took = ms(t0);
  const listed = execFileSync('bsdtar', ['-tf', db], { encoding: 'utf8', maxBuffer: 1 << 26 }).includes(`${entryOf(file)}/desc\n`);
  const ok = listed && (!signed || fs.existsSync(`${db}.sig`));
  fs.rmSync(work, { recursive: true, force: true });
  return { ms: took, ok };
}

async function size(n: number, real: string, key: PackagerKey): Promise<string[]> {
  return scaleRun(`bench-pacman-${n}`, 'info', async ({ dir, start }) => {
    const out: string[] = [];
    let t0 = process.hrtime.bigint();
    const pkgs = path.join(dir, 'pkgs');
    fs.mkdirSync(pkgs);
    const bulk: string[] = [];
    for (let i = 0; i < n; i++) bulk.push(await synthPackage(pkgs, `synth-${String(i).padStart(6, '0')}`, i));
    const extra: string[] = [];
    for (let i = 0; i < ROUNDS; i++) extra.push(await synthPackage(pkgs, `probe-${String(i).padStart(3, '0')}`, n + i));
    out.push(`== ${n} packages, synthesized in ${secs(t0).toFixed(1)} s; load average ${load()}`);

    const fill = await batchFill(await start(), bulk, 'pacman', { reponame: REPO });
    out.push(`  artifactd fill: POST /addpkg/batch x${fill.requests}, published after ${fill.seconds.toFixed(1)} s`);

    t0 = process.hrtime.bigint();
    const base = path.join(dir, 'base');
    await writeBaseDb(bulk, base);
    const written = secs(t0);
    await checkBaseDb(dir, bulk.slice(0, CHECK), base);
    out.push(`  repo-add base db: written in ${written.toFixed(1)} s (${fs.statSync(`${base}.db.tar.gz`).size} bytes, files db ${fs.statSync(`${base}.files.tar.gz`).size}); its first ${CHECK} entries equal a real repo-add's`);

    // A fresh process on the same data (see bench/lib/scale-run.ts).
    const s = await start(true);
    const repoKey = await openpgp.readKey({ armoredKey: await (await fetch(`${s.url}/repo/pacman/${REPO}/pubkey`)).text() });
    t0 = process.hrtime.bigint();
    await postPackage(s, real, { provider: 'pacman', reponame: REPO }, true);
    const cold = ms(t0);
    let ok = await servedHas(s, repoKey, entryOf(real));
    out.push(`  artifactd restarted (dist/server.js); first add 1 (makepkg package, cold: every segment compressed): ${cold.toFixed(0)} ms, peak RSS ${(s.peakRssKb() / 1024).toFixed(0)} MiB`);
    resetPeakRss(s);
    const logFrom = s.output().length;

    const artifactd = async (i: number) => {
      const t = process.hrtime.bigint();
      await postPackage(s, extra[i]!, { provider: 'pacman', reponame: REPO }, true);
      const took = ms(t);
      ok &&= await servedHas(s, repoKey, entryOf(extra[i]!));
      return took;
    };
    let refOk = true;
    const anchor = (signed: boolean) => async (i: number) => {
      const r = repoAdd(dir, base, key, signed, extra[i]!, i);
      refOk &&= r.ok;
      return r.ms;
    };
    const times = await interleavedSides(ROUNDS, [artifactd, anchor(true), anchor(false)]);
    const builds = publishLines(s, logFrom).filter((l) => l.repo === `pacman/${REPO}`);
    out.push(`  add 1 package: artifactd (HTTP upload -> 201, new signed db and files) vs repo-add -s vs repo-add (unsigned), each on a fresh copy of the base db:`);
    out.push(...sidesReport(['artifactd', 'repo-add -s', 'repo-add'], times));
    if (!ok || !refOk) out.push('  A CHECK FAILED: a db did not list the new package, or was not signed!');
    out.push(`  server publish (db + files build, sign, store): median ${median(builds.map((l) => l.durationMs)).toFixed(0)} ms over ${builds.length} publishes of ${builds.at(-1)?.entries ?? '?'} entries`);
    out.push(`  server peak RSS during the timed publishes: ${(s.peakRssKb() / 1024).toFixed(0)} MiB; load average ${load()}`);
    return out;
  });
}

async function main() {
  execFileSync(process.execPath, [path.join(__dirname, '../scripts/build.mjs'), '--if-stale'], { stdio: 'inherit' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-pacman-'));
  const key = packagerKey(dir, 'repo-add bench <bench@example.org>');
  try {
    const real = makepkg({ name: 'bench-real', pkgver: '1.0', arch: 'x86_64' }, dir);
    console.log(`pacman add-1 at scale: sizes ${SIZES.join(', ')}; ${ROUNDS} interleaved rounds; db ${process.env.BENCH_DB === 'mysql' ? 'mysql' : 'sqlite'}; load average ${load()} on ${os.cpus().length} CPUs`);
    for (const n of SIZES) for (const line of await size(n, real, key)) console.log(line);
  } finally {
    key.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
