/**
 * Talking to an upstream: one GET with a bounded wait for the answer and between chunks, the
 * configured credentials sent only to the upstream's own origin (a PyPI index may link files
 * on another host, which must never see them), and faults as 502/504 JSON errors that say why.
 */
import { Readable } from 'node:stream';
import { DomainError } from '../errors';
import type { UpstreamAuth } from '../kinds';

/** The upstream failed (refused, reset, 5xx, bad bytes): 502. */
export class UpstreamError extends DomainError {
  constructor(message: string, code = 'upstream_failed', details?: Record<string, unknown>) {
    super(502, code, message, details);
  }
}

/** The upstream did not answer in time: 504. */
export class UpstreamTimeoutError extends DomainError {
  constructor(message: string) {
    super(504, 'upstream_timeout', message);
  }
}

/** The upstream answered 404/410: the thing does not exist there. */
export class UpstreamNotFound extends DomainError {
  constructor(message: string) {
    super(404, 'not_found', message);
  }
}

export interface UpstreamOptions {
  upstream: string;
  auth: UpstreamAuth | null;
  timeoutSeconds: number;
}

export interface UpstreamResponse {
  url: string;
  contentType: string;
  /** Content-Length when the upstream sent one. */
  length: number | null;
  /** The body: read it with `timedChunks`, which bounds the wait for each chunk. */
  body: Readable;
  timeoutMs: number;
  abort(): void;
}

function authHeader(auth: UpstreamAuth): string {
  return auth.type === 'basic' ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : `Bearer ${auth.token}`;
}

/** A URL for error messages: no query string (signed URLs carry secrets there). */
export function shown(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}

export async function upstreamGet(url: string, opts: UpstreamOptions, accept?: string): Promise<UpstreamResponse> {
  const timeoutMs = opts.timeoutSeconds * 1000;
  const controller = new AbortController();
  let timedOut = false;
  const headerTimer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const headers: Record<string, string> = { 'user-agent': 'artifactd (pull-through cache)' };
  if (accept) headers.accept = accept;
  if (opts.auth && new URL(url).origin === new URL(opts.upstream).origin) headers.authorization = authHeader(opts.auth);
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: controller.signal, redirect: 'follow' });
  } catch (e) {
    clearTimeout(headerTimer);
    if (timedOut) throw new UpstreamTimeoutError(`the upstream did not answer ${shown(url)} within ${opts.timeoutSeconds}s`);
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new UpstreamError(`the upstream could not be reached for ${shown(url)}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  clearTimeout(headerTimer);
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel().catch(() => undefined);
    throw new UpstreamNotFound(`the upstream has no ${shown(url)} (HTTP ${res.status})`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new UpstreamError(`the upstream answered HTTP ${res.status} for ${shown(url)}`, 'upstream_failed', { upstreamStatus: res.status });
  }
  const length = res.headers.get('content-length');
  const web = res.body;
  const body = web ? Readable.fromWeb(web as import('node:stream/web').ReadableStream) : Readable.from([]);
  return { url: res.url || url, contentType: res.headers.get('content-type') ?? 'application/octet-stream', length: length !== null && /^\d+$/.test(length) ? Number(length) : null, body, timeoutMs, abort: () => controller.abort() };
}

/**
 * The body's chunks, each of which must arrive within the timeout. Only the wait for the
 * upstream counts: while the caller is busy (writing to a slow client) no timer runs.
 */
export async function* timedChunks(r: UpstreamResponse): AsyncGenerator<Buffer> {
  const it = r.body[Symbol.asyncIterator]();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UpstreamTimeoutError(`the upstream stalled for ${r.timeoutMs / 1000}s while sending ${shown(r.url)}`)), r.timeoutMs);
    });
    let step: IteratorResult<Buffer>;
    try {
      step = (await Promise.race([it.next(), timeout])) as IteratorResult<Buffer>;
    } catch (e) {
      r.abort();
      r.body.destroy();
      if (e instanceof DomainError) throw e;
      throw new UpstreamError(`the upstream's answer for ${shown(r.url)} broke off: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    if (step.done) return;
    yield step.value;
  }
}

/** The whole body, bounded (index files only: package files are streamed). */
export async function readBounded(r: UpstreamResponse, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of timedChunks(r)) {
    n += c.length;
    if (n > maxBytes) {
      r.abort();
      r.body.destroy();
      throw new UpstreamError(`the upstream's ${shown(r.url)} is larger than ${maxBytes} bytes, more than an index file may be`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}
