/**
 * The frame of the add-1-at-scale benchmarks (bench/apt-scale.ts, bench/pacman.ts): a scratch
 * directory and a fresh database for each size (SQLite in the directory, or BENCH_DB=mysql), a
 * bulk fill through POST /addpkg/batch, and a restart onto the compiled server so that the
 * memory of the timed publishes is theirs and not the fill's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inParallel, postBatch, waitPublished } from './bench-client';
import { startChildServer, type ChildServer } from '../../test/helpers/child-server';
import { createMysqlDatabase } from '../../test/helpers/mysql';

export interface ScaleRun {
  dir: string;
  /** Starts the server on this run's data, stopping the one before; `compiled`: dist/server.js. */
  start(compiled?: boolean): Promise<ChildServer>;
}

/** `fn` in a fresh scratch directory and database; afterwards the server is stopped and both are removed. */
export async function scaleRun<T>(name: string, logLevel: string, fn: (run: ScaleRun) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  // The sweep picks up what wait=0 uploads requested soon after the fill.
  const env: Record<string, string> = { DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: logLevel, PUBLISH_SWEEP_SECONDS: '1' };
  const db = process.env.BENCH_DB === 'mysql' ? await createMysqlDatabase() : null;
  if (db) env.DATABASE_URL = db.url;
  const live: { srv?: ChildServer } = {};
  try {
    return await fn({
      dir,
      async start(compiled = false) {
        await live.srv?.stop();
        live.srv = undefined;
        live.srv = await startChildServer(env, undefined, { compiled });
        return live.srv;
      },
    });
  } finally {
    await live.srv?.stop();
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `files` in requests of `batch` (two at a time, wait=0), until every scope of the repository has published. */
export async function batchFill(srv: ChildServer, files: readonly string[], provider: string, query: Record<string, string>, batch = 1000): Promise<{ requests: number; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += batch) batches.push(files.slice(i, i + batch));
  await inParallel(batches, 2, (b) => postBatch(srv, b, { provider, ...query }));
  await waitPublished(srv, provider, query.reponame!);
  return { requests: batches.length, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** From now on peakRssKb() reads the peak since this call: "5" resets VmHWM (proc(5), /proc/<pid>/clear_refs). */
export function resetPeakRss(srv: ChildServer): void {
  fs.writeFileSync(`/proc/${srv.pid}/clear_refs`, '5');
}
