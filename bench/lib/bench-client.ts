/** What every benchmark does against a child server: upload, wait for publishing, read publish logs. */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildServer } from '../../test/helpers/child-server';

export interface PublishLine {
  msg: string;
  repo: string;
  scope: string;
  durationMs: number;
  entries: number;
  files: number;
}

/** Connection-level retries made so far (printed by benches that care). */
export let uploadRetries = 0;

/**
 * POST /addpkg; expects 201 (wait) or 202. A kept-alive connection the server closed just as it
 * was reused (EPIPE/ECONNRESET) is retried once; a 409 on that retry means the first attempt
 * had been stored after all.
 */
export async function postPackage(server: ChildServer, file: string | { name: string; data: Buffer }, query: Record<string, string>, wait: boolean): Promise<number> {
  const q = new URLSearchParams({ ...query, ...(wait ? {} : { wait: '0' }) });
  for (let attempt = 0; ; attempt++) {
    const form = new FormData();
    if (typeof file === 'string') form.append('f', await fs.openAsBlob(file), path.basename(file));
    else form.append('f', new Blob([file.data]), file.name);
    let res: Response;
    try {
      res = await fetch(`${server.url}/addpkg?${q}`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${server.token}` } });
    } catch (e) {
      if (attempt > 0) throw e;
      uploadRetries++;
      continue;
    }
    const text = await res.text();
    if (res.status === (wait ? 201 : 202) || (attempt > 0 && res.status === 409)) return res.status;
    throw new Error(`upload ${typeof file === 'string' ? path.basename(file) : file.name}: ${res.status} ${text}`);
  }
}

/**
 * POST /addpkg/batch of `files` (at most MAX_BATCH_FILES, 1,000) with wait=0: the bulk fills of
 * the scale benchmarks. Throws unless the request as a whole was accepted.
 */
export async function postBatch(server: ChildServer, files: readonly string[], query: Record<string, string>): Promise<void> {
  const form = new FormData();
  for (const f of files) form.append('f', await fs.openAsBlob(f), path.basename(f));
  const q = new URLSearchParams({ ...query, wait: '0' });
  const r = await fetch(`${server.url}/addpkg/batch?${q}`, { method: 'POST', body: form, headers: { Authorization: `Bearer ${server.token}` } });
  const body = await r.text();
  if (r.status >= 300) throw new Error(`batch upload: ${r.status} ${body.slice(0, 300)}`);
}

/** Until every index scope of the repository has published what was requested. */
export async function waitPublished(server: ChildServer, provider: string, repo: string): Promise<void> {
  for (;;) {
    const r = await fetch(`${server.url}/api/repos/${provider}/${repo}/status`, { headers: { Authorization: `Bearer ${server.token}` } });
    const s = (await r.json()) as { scopes: { publishedSeq: number; requestedSeq: number }[] };
    if (s.scopes.length && s.scopes.every((x) => x.publishedSeq >= x.requestedSeq)) return;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** The server's `publish` log lines (needs LOG_LEVEL=info), from character offset `from` of its output. */
export function publishLines(server: ChildServer, from = 0): PublishLine[] {
  return server
    .output()
    .slice(from)
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"msg":"publish"'))
    .map((l) => JSON.parse(l) as PublishLine);
}

/** Run `fn` over `items` with at most `concurrency` in flight (the bulk fills of every benchmark). */
export async function inParallel<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
