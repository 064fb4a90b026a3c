/**
 * rpm provider at scale. For each repository size (1,000 and 10,000 packages by default):
 * - fill one repository through POST /addpkg (wait=0, in parallel) and let it settle;
 * - the same files in a plain directory through `createrepo_c` (what an admin runs to publish a
 *   signed repository without a server);
 * - then BENCH_SAMPLES rounds, interleaved: A = one more upload with wait (201 = the new signed
 *   repomd.xml is being served; the served primary.xml is checked to list it, untimed), B = the
 *   same package into the directory, `createrepo_c --update` plus `gpg --detach-sign --armor
 *   repodata/repomd.xml`. Each round prints both and the ratio B/A; then the medians.
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
import { inParallel, postPackage, publishLines, uploadRetries, waitPublished } from './lib/bench-client';
import { interleaved, median, pairedReport } from './lib/paired';
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

/** artifactd as a child process holding a repository filled with `bulk`. */
async function serverSide(dir: string, bulk: string[]): Promise<{ srv: ChildServer; fill: string; stop: () => Promise<void> }> {
  const env: Record<string, string> = { DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'info', PUBLISH_SWEEP_SECONDS: '1' };
  const db = process.env.BENCH_DB === 'mysql' ? await createMysqlDatabase() : null;
  if (db) env.DATABASE_URL = db.url;
  const srv = await startChildServer(env);
  const t0 = process.hrtime.bigint();
  await inParallel(bulk, CONCURRENCY, (f) => postPackage(srv, f, { provider: 'rpm', reponame: REPO }, false));
  const stored = ms(t0);
  await waitPublished(srv, 'rpm', REPO);
  const fill = `stored ${bulk.length} in ${(stored / 1000).toFixed(1)} s (${(bulk.length / (stored / 1000)).toFixed(0)}/s, ${CONCURRENCY} parallel, wait=0), published after ${(ms(t0) / 1000).toFixed(1)} s`;
  return { srv, fill, stop: async () => { await srv.stop(); await db?.drop(); } };
}

/** A plain directory published with createrepo_c and signed with gpg, filled with `bulk`. */
function createrepoSide(dir: string, bulk: string[]): { fill: string; add: (f: string) => number; hasAll: (names: string[]) => boolean } {
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
  const t0 = process.hrtime.bigint();
  execFileSync('createrepo_c', ['--quiet', repo], { stdio: 'pipe' });
  sign();
  const fill = `createrepo_c over ${bulk.length} + sign: ${(ms(t0) / 1000).toFixed(1)} s`;
  return {
    fill,
    add(f) {
      fs.linkSync(f, path.join(pkgs, path.basename(f)));
      const t = process.hrtime.bigint();
      execFileSync('createrepo_c', ['--quiet', '--update', repo], { stdio: 'pipe' });
      sign();
      return ms(t);
    },
    hasAll(names) {
      const repomd = fs.readFileSync(path.join(repo, 'repodata/repomd.xml'), 'utf8');
      const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1];
      const primary = zlib.gunzipSync(fs.readFileSync(path.join(repo, href))).toString();
      return names.every((n) => primary.includes(`<name>${n}</name>`));
    },
  };
}

const nameOf = (f: string) => path.basename(f).split('-')[0]!;

async function main() {
  console.log(`rpm benchmark: sizes ${SIZES.join(', ')}; ${SAMPLES} interleaved rounds each (artifactd upload, then createrepo_c --update, same package); db ${process.env.BENCH_DB === 'mysql' ? 'mysql' : 'sqlite'}`);
  const tdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rpm-template-'));
  const t = await template(tdir);
  const summary: string[] = [];
  for (const n of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-rpm-${n}-`));
    try {
      const t0 = process.hrtime.bigint();
      const bulk = writeRpms(t, path.join(dir, 'rpms'), 'pkg', n);
      const extra = writeRpms(t, path.join(dir, 'extra'), 'extra', SAMPLES);
      console.log(`\n== ${n} packages (${(t.bytes.length / 1024).toFixed(1)} KiB each), synthesized in ${(ms(t0) / 1000).toFixed(1)} s`);
      const server = await serverSide(dir, bulk);
      try {
        console.log(`artifactd fill:       ${server.fill}`);
        const cr = createrepoSide(dir, bulk);
        console.log(`createrepo_c fill:    ${cr.fill}`);
        const before = publishLines(server.srv).length;
        let served = true;
        // A: upload with wait -> 201 (the new signed repomd.xml is served); B: the same package
        // into the createrepo_c directory, `createrepo_c --update` + `gpg --detach-sign`.
        const p = await interleaved(
          SAMPLES,
          async (i) => {
            const t1 = process.hrtime.bigint();
            await postPackage(server.srv, extra[i]!, { provider: 'rpm', reponame: REPO }, true);
            const took = ms(t1);
            served &&= await servedHas(server.srv, nameOf(extra[i]!));
            return took;
          },
          async (i) => cr.add(extra[i]!),
        );
        console.log('+1 rpm -> new signed repomd.xml (A = artifactd upload with wait, B = createrepo_c --update + sign):');
        for (const l of pairedReport(p, 'A', 'B')) console.log(l);
        if (!served) console.log('  artifactd: the served primary.xml did NOT list every new package!');
        if (!cr.hasAll(extra.map(nameOf))) console.log('  createrepo_c: primary.xml did NOT list every new package!');
        const pubs = publishLines(server.srv).slice(before).filter((l) => l.scope === 'repodata');
        console.log(`  server publish durations: median ${median(pubs.map((l) => l.durationMs)).toFixed(0)} ms, ${pubs[0]?.entries ?? '?'} entries`);
        summary.push(`${n}: artifactd ${median(p.a).toFixed(0)} ms, createrepo_c+sign ${median(p.b).toFixed(0)} ms, median ratio ${median(p.ratios).toFixed(1)}x`);
      } finally {
        await server.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  fs.rmSync(tdir, { recursive: true, force: true });
  console.log(`\nsummary (medians of interleaved pairs):\n  ${summary.join('\n  ')}`);
  if (uploadRetries) console.log(`uploads retried after a closed keep-alive connection: ${uploadRetries}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
