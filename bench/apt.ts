/**
 * apt provider at scale. For each repository size (1,000 and 10,000 packages by default):
 * - fill one distribution through POST /addpkg (wait=0, in parallel) and let it settle;
 * - time one more upload with wait (201 = the new signed InRelease is being served),
 *   BENCH_SAMPLES times, with the server's own publish durations (its `publish` log lines),
 *   and check that the served InRelease really lists the new package;
 * - in the same run, `reprepro includedeb` of one more package into a reprepro repository
 *   of the same size (same .deb files, same architectures, Packages/.gz/.xz, signed with
 *   an Ed25519 key), the tool Debian admins use for this;
 * - the index build alone, in-process, after one amd64 upload, and the xz step with the
 *   previous setting (preset 6, one thread) next to the current one.
 * .debs are synthesized in-process (ar + control.tar.gz + data.tar.gz): dpkg-deb would
 * take minutes for 10,000. The server runs as a child process on SQLite, or with
 * BENCH_DB=mysql on a fresh MariaDB database. Prints figures; asserts nothing.
 *   npx tsx bench/apt.ts             # BENCH_SIZES=1000,10000 BENCH_SAMPLES=5 BENCH_CONCURRENCY=16
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import lzma from 'lzma-native';
import { buildAptIndex, packagesFile, xzSettings } from '../providers/apt/index-builder';
import type { EntryRow, PublishContext, RepoInfo, RepoSigner } from '../src/core/provider';
import { inParallel, postPackage, publishLines, uploadRetries, waitPublished, type PublishLine } from './lib/bench-client';
import { repreproRepo } from './lib/reprepro';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { createMysqlDatabase } from '../test/helpers/mysql';
import { synthDeb } from '../test/integration/apt-tools';
import { controlOf, writeDebs } from './lib/debs';
import { makeSigner } from '../test/unit/apt/helpers';
import { renderUpload } from '../src/core/entry-renderer';
import { aptProvider } from '../providers/apt';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const REPO = 'bench';

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => (xs.length ? `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})` : 'n/a');

async function upload(srv: ChildServer, file: string, wait: boolean): Promise<void> {
  await postPackage(srv, file, { provider: 'apt', reponame: REPO, dist: 'stable' }, wait);
}

const settled = (srv: ChildServer) => waitPublished(srv, 'apt', REPO);


/** The served InRelease lists a Packages whose by-hash copy names the package. */
async function servedHas(srv: ChildServer, pkg: string): Promise<boolean> {
  const base = `${srv.url}/repo/apt/${REPO}/dists/stable`;
  const inRelease = await (await fetch(`${base}/InRelease`)).text();
  const m = / ([0-9a-f]{64}) +\d+ main\/binary-amd64\/Packages\.gz\n/.exec(inRelease.slice(inRelease.indexOf('\nSHA256:')));
  if (!m) return false;
  const gz = Buffer.from(await (await fetch(`${base}/main/binary-amd64/by-hash/SHA256/${m[1]}`)).arrayBuffer());
  return new RegExp(`^Package: ${pkg}$`, 'm').test(zlib.gunzipSync(gz).toString());
}

async function serverRun(dir: string, bulk: string[], extra: string[]): Promise<{ fill: string; latencies: number[]; publishes: PublishLine[]; ok: boolean; xzSize: number }> {
  const env: Record<string, string> = { DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'info', PUBLISH_SWEEP_SECONDS: '1' };
  const db = process.env.BENCH_DB === 'mysql' ? await createMysqlDatabase() : null;
  if (db) env.DATABASE_URL = db.url;
  const srv = await startChildServer(env);
  try {
    let t0 = process.hrtime.bigint();
    await inParallel(bulk, CONCURRENCY, (f) => upload(srv, f, false));
    const stored = ms(t0);
    await settled(srv);
    const fill = `stored ${bulk.length} in ${(stored / 1000).toFixed(1)} s (${(bulk.length / (stored / 1000)).toFixed(0)}/s, ${CONCURRENCY} parallel, wait=0), published after ${(ms(t0) / 1000).toFixed(1)} s`;
    const latencies: number[] = [];
    const before = publishLines(srv).length;
    let ok = true;
    for (const f of extra) {
      t0 = process.hrtime.bigint();
      await upload(srv, f, true);
      latencies.push(ms(t0));
      ok &&= await servedHas(srv, path.basename(f).split('_')[0]!);
    }
    const xzSize = Number((await fetch(`${srv.url}/repo/apt/${REPO}/dists/stable/main/binary-amd64/Packages.xz`, { method: 'HEAD' })).headers.get('content-length'));
    return { fill, latencies, publishes: publishLines(srv).slice(before), ok, xzSize };
  } finally {
    await srv.stop();
    await db?.drop();
  }
}

function repreproRun(dir: string, bulk: string[], extra: string[]): { fill: string; latencies: number[]; ok: boolean; xzSize: number } {
  const { base, run } = repreproRepo(dir);
  const reprepro = (files: string[]) => run(['includedeb', 'stable', ...files]);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < bulk.length; i += 1000) reprepro(bulk.slice(i, i + 1000));
  const fill = `includedeb of ${bulk.length} in batches of 1000: ${(ms(t0) / 1000).toFixed(1)} s`;
  const latencies: number[] = [];
  for (const f of extra) {
    t0 = process.hrtime.bigint();
    reprepro([f]);
    latencies.push(ms(t0));
  }
  const inRelease = fs.readFileSync(path.join(base, 'dists/stable/InRelease'), 'utf8');
  const packages = fs.readFileSync(path.join(base, 'dists/stable/main/binary-amd64/Packages'), 'utf8');
  const xzSize = fs.statSync(path.join(base, 'dists/stable/main/binary-amd64/Packages.xz')).size;
  const ok = inRelease.includes('-----BEGIN PGP SIGNATURE-----') && extra.every((f) => new RegExp(`^Package: ${path.basename(f).split('_')[0]}$`, 'm').test(packages));
  return { fill, latencies, ok, xzSize };
}

/** A parsed row as the publisher would pass it. */
async function rowOf(i: number, prefix: string, arch: string, repo: RepoInfo, signer: RepoSigner): Promise<EntryRow> {
  const name = `${prefix}${String(i).padStart(5, '0')}`;
  const data = synthDeb(controlOf(name, '1.0-1', arch));
  const h = (a: string) => crypto.createHash(a).update(data).digest('hex');
  const hashes = { md5: h('md5'), sha1: h('sha1'), sha256: h('sha256'), sha512: h('sha512') };
  const tmp = path.join(os.tmpdir(), `bench-apt-${process.pid}.deb`);
  fs.writeFileSync(tmp, data);
  const file = { localPath: tmp, clientFilename: 'x.deb', size: data.length, hashes };
  const p = await aptProvider.parse({ file, extraFiles: {}, params: { dist: 'stable', component: 'main' }, repo });
  const { entry } = await renderUpload(aptProvider, p, file, repo, signer);
  fs.rmSync(tmp);
  return { id: i + 1, name: p.name, version: p.version, arch: p.arch, filename: p.filename, path: p.path, partition: p.partition, entry, meta: p.meta, size: data.length, hashes, createdAt: new Date(), yanked: null };
}

const xzWith = (data: Buffer, opts: Record<string, number>) =>
  new Promise<Buffer>((resolve, reject) => lzma.compress(data, opts, (r: Buffer, e?: Error) => (e ? reject(e) : resolve(Buffer.from(r)))));

/**
 * buildAptIndex alone over `n` stored entries, as publishes after single amd64 uploads
 * (so binary-arm64 is unchanged), and the xz step with the old setting (preset 6, one
 * thread) next to the provider's.
 */
async function buildOnly(n: number): Promise<string[]> {
  const key = await makeSigner();
  const repo: RepoInfo = { id: 1, provider: 'apt', name: REPO, settings: {} };
  const rows: EntryRow[] = [];
  for (let i = 0; i < n; i++) rows.push(await rowOf(i, 'pkg', i % 10 === 0 ? 'all' : 'amd64', repo, key.signer));
  const ctx: PublishContext = { repo, scope: 'dists/stable', now: new Date(), signer: key.signer, partitions: async () => ['stable/main'], entries: async () => rows };
  await buildAptIndex(ctx); // the state before the uploads
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    rows.push({ ...(await rowOf(i, 'new', 'amd64', repo, key.signer)), id: n + i + 1 });
    const t0 = process.hrtime.bigint();
    await buildAptIndex(ctx);
    runs.push(ms(t0));
  }
  const plain = packagesFile(rows.filter((r) => r.arch !== 'arm64'));
  const timed = async (f: () => Promise<Buffer>) => {
    const t0 = process.hrtime.bigint();
    const out = await f();
    return `${ms(t0).toFixed(0)} ms -> ${(out.length / 1e6).toFixed(2)} MB`;
  };
  return [
    `buildAptIndex after one amd64 upload: ${fmt(runs)}`,
    `binary-amd64/Packages ${(plain.length / 1e6).toFixed(1)} MB: gzip -9 ${await timed(async () => zlib.gzipSync(plain, { level: 9 }))}; ` +
      `xz preset 6 (before) ${await timed(() => xzWith(plain, { preset: 6 }))}; xz ${JSON.stringify(xzSettings(plain.length))} (now) ${await timed(() => xzWith(plain, xzSettings(plain.length)))}`,
  ];
}

async function main() {
  console.log(`apt benchmark: sizes ${SIZES.join(', ')}; ${SAMPLES} timed uploads each; db ${process.env.BENCH_DB === 'mysql' ? 'mysql' : 'sqlite'}`);
  for (const n of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-apt-${n}-`));
    try {
      let t0 = process.hrtime.bigint();
      const bulk = writeDebs(path.join(dir, 'debs'), 'pkg', n);
      const extra = writeDebs(path.join(dir, 'extra'), 'extra', SAMPLES, 0);
      console.log(`\n== ${n} packages (${n / 10} of them Architecture: all; amd64 + arm64 indices), debs synthesized in ${(ms(t0) / 1000).toFixed(1)} s`);
      const s = await serverRun(dir, bulk, extra);
      console.log(`artifactd fill:     ${s.fill}`);
      console.log(`artifactd +1 deb:   upload with wait -> 201 (new signed InRelease served): ${fmt(s.latencies)}${s.ok ? '' : '  (InRelease did NOT list it!)'}`);
      const dists = s.publishes.filter((l) => l.scope === 'dists/stable');
      console.log(`  server publish durations: ${fmt(dists.map((l) => l.durationMs))}, ${dists[0]?.entries ?? '?'} entries, ${dists[0]?.files ?? '?'} index files`);
      t0 = process.hrtime.bigint();
      const r = repreproRun(dir, bulk, extra);
      console.log(`reprepro fill:      ${r.fill}`);
      console.log(`reprepro +1 deb:    includedeb (exports Packages/.gz/.xz, signs InRelease): ${fmt(r.latencies)}${r.ok ? '' : '  (check failed!)'}`);
      console.log(`binary-amd64/Packages.xz: artifactd ${(s.xzSize / 1e6).toFixed(2)} MB, reprepro ${(r.xzSize / 1e6).toFixed(2)} MB`);
      for (const line of await buildOnly(n)) console.log(`index build only:   ${line}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  if (uploadRetries) console.log(`uploads retried after a closed keep-alive connection: ${uploadRetries}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
