/**
 * rpm provider at scale. For each repository size (1,000 and 10,000 packages by default):
 * - fill one repository through POST /addpkg (wait=0, in parallel) and let it settle;
 * - time one more upload with wait (201 = the new signed repomd.xml is being served),
 *   BENCH_SAMPLES times, with the server's own publish durations, and check that the served
 *   primary.xml really lists the new package;
 * - in the same run, on the same files: `createrepo_c` over the directory, then per extra
 *   package `createrepo_c --update` plus `gpg --detach-sign --armor repodata/repomd.xml` (what
 *   an admin runs to publish a signed repository without a server).
 * The rpms are clones of one rpmbuild-made package: the template's name is replaced by another
 * of the same length in the main header, and the signature header's SHA-1, SHA-256 and MD5 are
 * recomputed (the payload and its digest stay valid), so every clone passes `rpm -K` and the
 * server's checks; rpmbuild itself would take most of an hour for 10,000. The server runs as
 * a child process on SQLite, or with BENCH_DB=mysql on a fresh MariaDB database. Prints
 * figures; asserts nothing.
 *   npx tsx bench/rpm.ts             # BENCH_SIZES=1000,10000 BENCH_SAMPLES=5 BENCH_CONCURRENCY=16
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { inParallel, postPackage, publishLines, uploadRetries, waitPublished, type PublishLine } from './lib/bench-client';
import { startChildServer, type ChildServer } from '../test/helpers/child-server';
import { createMysqlDatabase } from '../test/helpers/mysql';
import { rpmbuild } from '../test/unit/rpm/helpers';
import { readLayout } from '../providers/rpm/parse';
import { SIGTAG } from '../providers/rpm/tags';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const REPO = 'bench';
const TEMPLATE = 'benchtemplate00000';

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => (xs.length ? `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})` : 'n/a');

interface Template {
  bytes: Buffer;
  headerStart: number;
  headerEnd: number;
  /** File offsets of the signature header's digest values. */
  sha1At: number;
  sha256At: number;
  md5At: number;
}

async function template(dir: string): Promise<Template> {
  const file = rpmbuild({ name: TEMPLATE, version: '1.0', arch: 'x86_64', preamble: ['Requires: bench-base >= 1.0'], files: { [`/usr/bin/${TEMPLATE}`]: '#!/bin/sh\n', [`/usr/share/doc/${TEMPLATE}/README`]: 'bench\n' } }, dir).rpm;
  const bytes = fs.readFileSync(file);
  const layout = await readLayout(file, bytes.length);
  const n = bytes.readUInt32BE(96 + 8);
  const dataStart = 96 + 16 + 16 * n;
  const at = (tag: number) => {
    for (let i = 0; i < n; i++) if (bytes.readUInt32BE(96 + 16 + 16 * i) === tag) return dataStart + bytes.readUInt32BE(96 + 16 + 16 * i + 8);
    throw new Error(`signature tag ${tag} missing`);
  };
  return { bytes, headerStart: layout.headerStart, headerEnd: layout.headerEnd, sha1At: at(SIGTAG.SHA1), sha256At: at(SIGTAG.SHA256), md5At: at(SIGTAG.MD5) };
}

/** The template with every occurrence of its name in the main header replaced by `name` (same length), digests redone. */
function clone(t: Template, name: string): Buffer {
  if (name.length !== TEMPLATE.length) throw new Error(`clone names must be ${TEMPLATE.length} characters`);
  const b = Buffer.from(t.bytes);
  const header = b.subarray(t.headerStart, t.headerEnd);
  for (let i = header.indexOf(TEMPLATE); i >= 0; i = header.indexOf(TEMPLATE, i + 1)) header.write(name, i, 'latin1');
  const hex = (a: string, d: Buffer) => crypto.createHash(a).update(d).digest('hex');
  b.write(hex('sha1', header), t.sha1At, 'latin1');
  b.write(hex('sha256', header), t.sha256At, 'latin1');
  crypto.createHash('md5').update(b.subarray(t.headerStart)).digest().copy(b, t.md5At);
  return b;
}

function writeRpms(t: Template, dir: string, prefix: string, count: number): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}${String(i).padStart(TEMPLATE.length - prefix.length, '0')}`;
    const f = path.join(dir, `${name}-1.0-1.x86_64.rpm`);
    fs.writeFileSync(f, clone(t, name));
    return f;
  });
}

async function servedHas(srv: ChildServer, name: string): Promise<boolean> {
  const base = `${srv.url}/repo/rpm/${REPO}`;
  const repomd = await (await fetch(`${base}/repodata/repomd.xml`)).text();
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)?.[1];
  if (!href) return false;
  const primary = zlib.gunzipSync(Buffer.from(await (await fetch(`${base}/${href}`)).arrayBuffer())).toString();
  return primary.includes(`<name>${name}</name>`) && (await fetch(`${base}/repodata/repomd.xml.asc`)).ok;
}

async function serverRun(dir: string, bulk: string[], extra: string[]): Promise<{ fill: string; latencies: number[]; publishes: PublishLine[]; ok: boolean }> {
  const env: Record<string, string> = { DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'info', PUBLISH_SWEEP_SECONDS: '1' };
  const db = process.env.BENCH_DB === 'mysql' ? await createMysqlDatabase() : null;
  if (db) env.DATABASE_URL = db.url;
  const srv = await startChildServer(env);
  try {
    let t0 = process.hrtime.bigint();
    await inParallel(bulk, CONCURRENCY, (f) => postPackage(srv, f, { provider: 'rpm', reponame: REPO }, false));
    const stored = ms(t0);
    await waitPublished(srv, 'rpm', REPO);
    const fill = `stored ${bulk.length} in ${(stored / 1000).toFixed(1)} s (${(bulk.length / (stored / 1000)).toFixed(0)}/s, ${CONCURRENCY} parallel, wait=0), published after ${(ms(t0) / 1000).toFixed(1)} s`;
    const before = publishLines(srv).length;
    const latencies: number[] = [];
    let ok = true;
    for (const f of extra) {
      t0 = process.hrtime.bigint();
      await postPackage(srv, f, { provider: 'rpm', reponame: REPO }, true);
      latencies.push(ms(t0));
      ok &&= await servedHas(srv, path.basename(f).split('-')[0]!);
    }
    return { fill, latencies, publishes: publishLines(srv).slice(before), ok };
  } finally {
    await srv.stop();
    await db?.drop();
  }
}

function createrepoRun(dir: string, bulk: string[], extra: string[]): { fill: string; latencies: number[]; ok: boolean } {
  const gnupg = path.join(dir, 'gnupg');
  fs.mkdirSync(gnupg, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: gnupg };
  execFileSync('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', 'Bench <bench@example.org>', 'ed25519', 'sign', 'never'], { env, stdio: 'pipe' });
  const repo = path.join(dir, 'createrepo');
  const pkgs = path.join(repo, 'Packages');
  fs.mkdirSync(pkgs, { recursive: true });
  for (const f of bulk) fs.linkSync(f, path.join(pkgs, path.basename(f)));
  const sign = () => {
    fs.rmSync(path.join(repo, 'repodata/repomd.xml.asc'), { force: true });
    execFileSync('gpg', ['--batch', '--quiet', '--detach-sign', '--armor', path.join(repo, 'repodata/repomd.xml')], { env, stdio: 'pipe' });
  };
  let t0 = process.hrtime.bigint();
  execFileSync('createrepo_c', ['--quiet', repo], { stdio: 'pipe' });
  sign();
  const fill = `createrepo_c over ${bulk.length} + sign: ${(ms(t0) / 1000).toFixed(1)} s`;
  const latencies: number[] = [];
  for (const f of extra) {
    fs.linkSync(f, path.join(pkgs, path.basename(f)));
    t0 = process.hrtime.bigint();
    execFileSync('createrepo_c', ['--quiet', '--update', repo], { stdio: 'pipe' });
    sign();
    latencies.push(ms(t0));
  }
  const repomd = fs.readFileSync(path.join(repo, 'repodata/repomd.xml'), 'utf8');
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1];
  const primary = zlib.gunzipSync(fs.readFileSync(path.join(repo, href))).toString();
  const ok = extra.every((f) => primary.includes(`<name>${path.basename(f).split('-')[0]}</name>`));
  return { fill, latencies, ok };
}

async function main() {
  console.log(`rpm benchmark: sizes ${SIZES.join(', ')}; ${SAMPLES} timed uploads each; db ${process.env.BENCH_DB === 'mysql' ? 'mysql' : 'sqlite'}`);
  const tdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rpm-template-'));
  const t = await template(tdir);
  for (const n of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-rpm-${n}-`));
    try {
      let t0 = process.hrtime.bigint();
      const bulk = writeRpms(t, path.join(dir, 'rpms'), 'pkg', n);
      const extra = writeRpms(t, path.join(dir, 'extra'), 'extra', SAMPLES);
      console.log(`\n== ${n} packages (${(t.bytes.length / 1024).toFixed(1)} KiB each), synthesized in ${(ms(t0) / 1000).toFixed(1)} s`);
      const s = await serverRun(dir, bulk, extra);
      console.log(`artifactd fill:       ${s.fill}`);
      console.log(`artifactd +1 rpm:     upload with wait -> 201 (new signed repomd.xml served): ${fmt(s.latencies)}${s.ok ? '' : '  (primary did NOT list it!)'}`);
      const pubs = s.publishes.filter((l) => l.scope === 'repodata');
      console.log(`  server publish durations: ${fmt(pubs.map((l) => l.durationMs))}, ${pubs[0]?.entries ?? '?'} entries`);
      t0 = process.hrtime.bigint();
      const c = createrepoRun(dir, bulk, extra);
      console.log(`createrepo_c fill:    ${c.fill}`);
      console.log(`createrepo_c +1 rpm:  createrepo_c --update + gpg --detach-sign repomd.xml: ${fmt(c.latencies)}${c.ok ? '' : '  (check failed!)'}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  fs.rmSync(tdir, { recursive: true, force: true });
  if (uploadRetries) console.log(`uploads retried after a closed keep-alive connection: ${uploadRetries}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
