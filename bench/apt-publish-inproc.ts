/**
 * One apt distribution published in-process at BENCH_N packages (issue 19): where a publish's
 * time and memory go, without the minutes a real 100,000-package upload takes.
 * - fill: a child server takes BENCH_TEMPLATES real .debs (bench/lib/debs.ts) through
 *   POST /addpkg/batch; then SQL copies those rows with distinct names, paths and stanzas
 *   (same stanza text but for Package and Filename) up to BENCH_N rows;
 * - measure: a fresh process (its memory is the publishes', not the fill's) opens the same data
 *   in-process and times a cold publish (every segment compressed), then BENCH_ROUNDS add-1
 *   publishes (one row copied in, the distribution republished), each with its peak RSS
 *   (VmHWM, reset through /proc/self/clear_refs before each).
 * Prints figures; asserts nothing. BENCH_DIR=<dir> keeps the filled data there for the next run.
 *   npx tsx bench/apt-publish-inproc.ts     BENCH_N=20000 BENCH_ROUNDS=3 BENCH_TEMPLATES=200 BENCH_ADD_PREFIX=add
 * CHILD_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the measuring process.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitPublished } from './lib/bench-client';
import { writeDebs } from './lib/debs';
import { startChildServer } from '../test/helpers/child-server';

const N = Number(process.env.BENCH_N ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TEMPLATES = Number(process.env.BENCH_TEMPLATES ?? 200);
const ADD_PREFIX = (process.env.BENCH_ADD_PREFIX ?? 'add').replace(/[^a-z0-9]/g, '');
const REPO = 'bench';
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function vm(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Copies of the template rows named `<name>x<k>` until the repository holds `n` rows. */
function duplicateRows(dbFile: string, n: number): void {
  // The driver the server uses for SQLite (src/db/data-source.ts); no type package is installed.
  type Stmt = { get(): unknown; all(): unknown[]; run(...args: unknown[]): unknown };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require('better-sqlite3') as new (file: string) => { prepare(sql: string): Stmt; exec(sql: string): void; close(): void };
  const db = new Database(dbFile);
  const have = (db.prepare('SELECT COUNT(*) AS c FROM files').get() as { c: number }).c;
  const copies = Math.ceil((n - have) / have);
  const cols = (db.prepare('PRAGMA table_info(files)').all() as { name: string }[]).map((c) => c.name).filter((c) => c !== 'id');
  const renamed: Record<string, string> = {
    name: "name || 'x' || k.k",
    name_key: "name_key || 'x' || k.k",
    filename: "replace(filename, name || '_', name || 'x' || k.k || '_')",
    path: "replace(path, '/' || name || '_', '/' || name || 'x' || k.k || '_')",
    entry: "replace(replace(entry, 'Package: ' || name || char(10), 'Package: ' || name || 'x' || k.k || char(10)), '/' || name || '_', '/' || name || 'x' || k.k || '_')",
  };
  db.exec('BEGIN');
  db.prepare(
    `WITH RECURSIVE k(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM k WHERE k < ?)
     INSERT INTO files (${cols.join(', ')}) SELECT ${cols.map((c) => renamed[c] ?? c).join(', ')} FROM files, k ORDER BY k.k, files.id LIMIT ?`,
  ).run(copies, n - have);
  db.exec('COMMIT');
  db.close();
}

async function fill(dir: string): Promise<void> {
  const env = { DATA_DIR: path.join(dir, 'data'), DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`, LOG_LEVEL: 'warn' };
  const debs = writeDebs(path.join(dir, 'debs'), 'pkg', TEMPLATES);
  const srv = await startChildServer(env);
  try {
    const form = new FormData();
    for (const f of debs) form.append('f', await fs.openAsBlob(f), path.basename(f));
    const r = await fetch(`${srv.url}/addpkg/batch?provider=apt&reponame=${REPO}&dist=stable&wait=0`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${srv.token}` } });
    if (r.status >= 300) throw new Error(`batch upload: ${r.status} ${(await r.text()).slice(0, 300)}`);
    await waitPublished(srv, 'apt', REPO);
  } finally {
    await srv.stop();
  }
  duplicateRows(path.join(dir, 'db.sqlite'), N);
}

/** The measuring process: in-process services on the filled data. */
async function measure(dir: string): Promise<void> {
  const { loadConfig } = await import('../src/config/schema');
  const { createServices } = await import('../src/services');
  const { createLogger } = await import('../src/util/logger');
  const config = loadConfig({ DATA_DIR: path.join(dir, 'data'), DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`, LOG_LEVEL: 'warn', MASTER_KEY: 'bench-master-key-0123456789', ADMIN_TOKEN: 'bench-admin-token-0123456789' });
  const services = await createServices(config, createLogger(config.LOG_LEVEL, {}));
  try {
    const repo = await services.repos.get('apt', REPO);
    const count = (await services.db.manager.query('SELECT COUNT(*) AS c FROM files WHERE repo_id = ?', [repo.id])) as { c: number }[];
    console.log(`  ${count[0]!.c} rows; measuring process RSS ${vm('VmRSS').toFixed(0)} MiB before publishing`);
    const timed = async (label: string) => {
      fs.writeFileSync('/proc/self/clear_refs', '5');
      // Where the peak is: the largest JS heap and external (Buffer) memory seen while it runs.
      const max = { heap: 0, heapTotal: 0, external: 0 };
      const sample = setInterval(() => {
        const u = process.memoryUsage();
        max.heap = Math.max(max.heap, u.heapUsed);
        max.heapTotal = Math.max(max.heapTotal, u.heapTotal);
        max.external = Math.max(max.external, u.external);
      }, 10);
      const t0 = process.hrtime.bigint();
      await services.publisher.republishAll(repo);
      const d = ms(t0);
      clearInterval(sample);
      const gc = (globalThis as { gc?: () => void }).gc;
      // CHILD_NODE_ARGS=--expose-gc: what stays alive after the publish (caches), apart from garbage.
      const live = gc ? (gc(), `; after gc: heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB, external ${(process.memoryUsage().external / 2 ** 20).toFixed(0)} MiB`) : '';
      console.log(`  ${label}: ${d.toFixed(0)} ms, peak RSS ${vm('VmHWM').toFixed(0)} MiB (sampled max heap ${(max.heap / 2 ** 20).toFixed(0)} used of ${(max.heapTotal / 2 ** 20).toFixed(0)}, external ${(max.external / 2 ** 20).toFixed(0)} MiB)${live}`);
      return d;
    };
    await timed('cold publish (every segment compressed)');
    const cols = ((await services.db.manager.query('PRAGMA table_info(files)')) as { name: string }[]).map((c) => c.name).filter((c) => c !== 'id');
    const xs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // One more package, like an upload: a copy of the first row under a new name. Where the
      // name sorts matters: segments before it are neither read nor hashed (keys first), so
      // `add...` (before every `pkg...`) is the worst case; BENCH_ADD_PREFIX=zz the best.
      const nm = `'${ADD_PREFIX}${process.pid}x${i}'`;
      const expr: Record<string, string> = {
        name: nm,
        name_key: nm,
        filename: `replace(filename, name || '_', ${nm} || '_')`,
        path: `replace(path, '/' || name || '_', '/' || ${nm} || '_')`,
        entry: `replace(replace(entry, 'Package: ' || name || char(10), 'Package: ' || ${nm} || char(10)), '/' || name || '_', '/' || ${nm} || '_')`,
      };
      await services.db.manager.query(`INSERT INTO files (${cols.join(', ')}) SELECT ${cols.map((c) => expr[c] ?? c).join(', ')} FROM files WHERE repo_id = ? ORDER BY id LIMIT 1`, [repo.id]);
      xs.push(await timed(`add-1 round ${i + 1}`));
    }
    xs.sort((a, b) => a - b);
    console.log(`  add-1 median ${xs[Math.floor(xs.length / 2)]!.toFixed(0)} ms`);
  } finally {
    await services.close();
  }
}

async function main() {
  if (process.env.BENCH_MEASURE_DIR) return measure(process.env.BENCH_MEASURE_DIR);
  // BENCH_DIR: fill there once and keep it; later runs measure on the same data (a few more rows each).
  const keep = process.env.BENCH_DIR;
  const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), `bench-apt-inproc-${N}-`));
  try {
    const t0 = process.hrtime.bigint();
    if (!keep || !fs.existsSync(path.join(dir, 'db.sqlite'))) {
      fs.mkdirSync(dir, { recursive: true });
      await fill(dir);
      console.log(`apt publish in-process at ${N} packages (${TEMPLATES} uploaded, the rest copied by SQL in ${(ms(t0) / 1000).toFixed(0)} s)`);
    }
    console.log(`data in ${dir}; load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`);
    const args = [...(process.env.CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', __filename];
    execFileSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, BENCH_MEASURE_DIR: dir } });
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
