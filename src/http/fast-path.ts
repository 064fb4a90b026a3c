/**
 * Small GETs answered ahead of Express (issue 15): a plain node:http request handler that
 * serves, for a hosted repository (and a merging virtual's own index files), what the generic
 * lookup of src/http/repo-router.ts would serve from memory: an index file of the current (or
 * pinned, or apt by-hash historic) generation, or a package file whose body is in the
 * small-blob cache (larger ones stream through Express). Express's twenty-odd layers were about
 * four fifths of such a GET (bench/smallgets.ts: about 2,300 req/s through Express, 11,000 here).
 *
 * The answer is the one Express would give, byte for byte and header for header: the same
 * read cache (src/core/read-cache.ts), the same validators and header order (send-blob.ts),
 * the same authorization rule (RepoService.readable on the request's own principal), the
 * same generation pins, download count, metrics and log line. Anything else goes to Express
 * unchanged, before a byte is written: a query string, a body, a Range, a session cookie, a
 * token that does not authenticate, a repository that is missing or not readable (so missing
 * and forbidden still answer alike: Express answers both), a provider route, a redirect, a
 * remote or a non-merging virtual, a path that is no index file or cached package file.
 * FAST_PATH=off sends everything to Express (the tests compare both).
 */
import type { IncomingMessage, ServerResponse, RequestListener } from 'node:http';
import { canReadRepo } from '../core/repo-service';
import type { Principal } from '../core/tokens';
import type { Provider, RepoInfo } from '../core/provider';
import { providers } from '../core/provider-registry';
import { isEntryMergedVirtual } from '../core/virtual-indexes';
import type { Services } from '../services';
import { blobKey } from '../storage/blob-store';
import { contentTypeFor } from './content-types';
import { hasBody } from './json-body';
import { extractToken, logRequest, requestIdOf } from './middleware';
import { countDownload, recordHttpMetrics } from './ops-middleware';
import { pins } from './repo-router';
import type { CachedIndexFile } from '../core/read-cache';
import { blobValidators, setBlobHeaders, type BlobToSend, type BlobValidators } from './send-blob';
import { readCookie, SESSION_COOKIE } from './session';

/** Marker: hand the request to Express. */
const EXPRESS = Symbol('express');
type Outcome = typeof EXPRESS | void;

/**
 * Whether a repository-relative path (`/...`, as Express sees it inside the provider router)
 * could match one of the provider's routes, which Express tries before the generic lookup.
 * Express matches with path-to-regexp, case-insensitively, a trailing slash allowed: literal
 * segments compare without case, `:param` matches any segment, `:param<literal>` one that
 * ends with the literal. A route using anything else (wildcards, groups) matches every path.
 */
function routeMatcher(provider: Provider): (segments: string[]) => boolean {
  const routes = (provider.routes ?? []).map((r) => r.path.split('/').slice(1));
  const plain = /^[^:*?(){}\\]*$/;
  const param = /^:[A-Za-z_$][\w$]*([^:*?(){}\\]*)$/;
  if (routes.some((segs) => segs.some((seg) => !plain.test(seg) && !param.test(seg)))) return () => true;
  return (segments) => {
    const segs = segments.length > 1 && segments[segments.length - 1] === '' ? segments.slice(0, -1) : segments;
    return routes.some(
      (route) =>
        route.length === segs.length &&
        route.every((r, i) => {
          const seg = segs[i]!;
          if (!r.startsWith(':')) return r.toLowerCase() === seg.toLowerCase();
          const suffix = param.exec(r)![1]!.toLowerCase();
          return seg.length > suffix.length && seg.toLowerCase().endsWith(suffix);
        }),
    );
  };
}

interface Target {
  provider: Provider;
  matchesRoute: (segments: string[]) => boolean;
  rewrite: (path: string, method: string, accept: string) => ReturnType<NonNullable<Provider['rewrite']>>;
}

const MAX_REWRITES = 4096;

/** Provider.rewrite is a pure function of its view: its answers are kept (content negotiation parses Accept every time otherwise). */
function memoRewrite(provider: Provider): Target['rewrite'] {
  const kept = new Map<string, ReturnType<NonNullable<Provider['rewrite']>>>();
  return (path, method, accept) => {
    if (!provider.rewrite) return null;
    const key = `${method}\u0000${accept}\u0000${path}`;
    let rw = kept.get(key);
    if (rw === undefined) {
      rw = provider.rewrite({ path, method, accept, query: {} });
      if (kept.size >= MAX_REWRITES) kept.clear();
      kept.set(key, rw);
    }
    return rw;
  };
}

/** `app` behind the fast path (FAST_PATH=on, the default), or `app` alone. */
export function withFastPath(s: Services, app: RequestListener, enabled = s.config.FAST_PATH === 'on'): RequestListener {
  if (!enabled) return app;
  const targets = new Map<string, Target>(providers.map((p) => [p.name, { provider: p, matchesRoute: routeMatcher(p), rewrite: memoRewrite(p) }]));
  return (req, res) => {
    const started = process.hrtime.bigint();
    const e = eligible(req, targets);
    if (!e) return app(req, res);
    // Nothing is written before the answer is certain; if something still failed, Express answers.
    const failed = () => {
      if (!res.headersSent) app(req, res);
      else res.destroy();
    };
    try {
      if (serveNow(s, e, req, res, started)) return;
    } catch {
      return failed();
    }
    serveFast(s, e, req, res, started).then((outcome) => {
      if (outcome === EXPRESS) app(req, res);
    }, failed);
  };
}

/** The checks that need no lookup: method, URL shape, headers. */
function eligible(req: IncomingMessage, targets: Map<string, Target>): { target: Target; repoSeg: string; segments: string[] } | null {
  if (req.method !== 'GET' && req.method !== 'HEAD') return null;
  const url = req.url ?? '';
  if (!url.startsWith('/repo/') || url.includes('?') || url.includes('#')) return null;
  const h = req.headers;
  if (h.range !== undefined || hasBody(req)) return null;
  // A session cookie (web UI sign-in) counts when no Authorization is sent: src/http/session.ts.
  if (h.authorization === undefined && h.cookie !== undefined && readCookie(h.cookie, SESSION_COOKIE) !== undefined) return null;
  const parts = url.split('/');
  // ['', 'repo', provider, repo, ...path]: at least one path segment (a bare repository URL is a redirect or a listing).
  if (parts.length < 5) return null;
  const target = targets.get(parts[2]!);
  if (!target || parts[3] === '') return null;
  const segments = parts.slice(4);
  // Empty segments (`//`) anywhere but at the end: leave them to Express's own matching.
  if (segments.slice(0, -1).some((seg) => seg === '') || (segments.length === 1 && segments[0] === '')) return null;
  if (target.matchesRoute(segments)) return null;
  return { target, repoSeg: parts[3]!, segments };
}

function decode(segments: string[]): string | null {
  try {
    return segments.map((seg) => decodeURIComponent(seg)).join('/');
  } catch {
    return null;
  }
}

/**
 * The common hit, without a promise: every lookup serveFast would make answered from memory
 * (ReadCache's *Now and BlobBodyCache.peek give what its awaited calls give on a hit). Anything
 * serveFast would have to look up, or may hand to Express, is left to it (false, nothing done):
 * a token, a pin, a by-hash or fallback path, a rewrite's redirect, a remote, a merging virtual's
 * package file, presigned redirects, a kept copy due for its check. What it answers, it answers
 * with serveFast's own code (answer), so the bytes, headers, counts, metrics and log line are those.
 */
function serveNow(s: Services, e: NonNullable<ReturnType<typeof eligible>>, req: IncomingMessage, res: ServerResponse, started: bigint): boolean {
  if (req.headers.authorization !== undefined) return false;
  const { provider } = e.target;
  const name = decode([e.repoSeg]);
  let path = decode(e.segments);
  if (name === null || path === null) return false;
  const row = s.reads.repoNow(provider.name, name);
  if (!row || !canReadRepo(s.config.PUBLIC_READ, undefined, row)) return false;
  const repo = s.publisher.scopeContext(row).repo;
  const rw = e.target.rewrite(path, req.method!, req.headers.accept ?? '');
  if (rw && 'redirect' in rw) return false;
  if (rw) path = rw.path;
  const merging = isEntryMergedVirtual(repo);
  if (repo.kind !== 'hosted' && !merging) return false;
  if (pins.peek(req, repo.id, path) !== undefined) return false;
  const idx = s.reads.currentIndexFileNow(repo.id, path);
  if (idx === undefined || (idx === null && path.includes('/by-hash/'))) return false;
  let blob: BlobToSend;
  let counted: Parameters<typeof countDownload>[4] | null = null;
  if (idx) {
    blob = { sha256: idx.sha256, size: idx.size, contentType: idx.contentType, lastModified: new Date(idx.createdAt), cacheControl: 'no-cache' };
  } else {
    if (merging || (s.config.S3_REDIRECT === 'presigned' && s.blobs.presignedUrl)) return false;
    // serveFast tries the path first: only a kept answer for it is certain (a miss may be a fallback's, or not kept yet).
    const file = s.reads.packageFileNow(repo.id, path);
    if (!file) return false;
    blob = { sha256: file.sha256, size: file.size, contentType: contentTypeFor(provider, file.filename), lastModified: new Date(file.createdAt), cacheControl: 'public, max-age=31536000, immutable' };
    counted = file;
  }
  const v = blobValidators(req.headers, blob);
  let body: Buffer | null = null;
  if (!v.notModified && req.method === 'GET') {
    if (!s.bodies.fits(blob.size)) return false;
    body = s.bodies.peek(blob.sha256) ?? null;
    if (!body) return false;
  }
  answer(s, req, res, started, { provider, repoId: repo.id, path, idx, fromPin: null, vary: rw?.vary, blob, v, body, counted, principal: undefined });
  return true;
}

async function serveFast(s: Services, e: NonNullable<ReturnType<typeof eligible>>, req: IncomingMessage, res: ServerResponse, started: bigint): Promise<Outcome> {
  const { provider } = e.target;
  const name = decode([e.repoSeg]);
  let path = decode(e.segments);
  if (name === null || path === null) return EXPRESS;
  let principal: Principal | undefined;
  const token = extractToken(req.headers.authorization);
  if (token) {
    try {
      principal = await s.tokens.authenticate(token);
    } catch {
      return EXPRESS; // its 401 comes from Express
    }
  }
  const row = await s.reads.repo(provider.name, name);
  // Missing and unreadable both go to Express, which answers them alike (RepoService.readable).
  if (!row || !canReadRepo(s.config.PUBLIC_READ, principal, row)) return EXPRESS;
  const repo = s.publisher.scopeContext(row).repo;
  const rw = e.target.rewrite(path, req.method!, req.headers.accept ?? '');
  if (rw && 'redirect' in rw) return EXPRESS;
  if (rw) path = rw.path;
  const vary = rw?.vary;
  // Remotes and non-merging virtuals answer through src/http/kind-serve.ts.
  const merging = isEntryMergedVirtual(repo);
  if (repo.kind !== 'hosted' && !merging) return EXPRESS;

  const pinned = pins.peek(req, repo.id, path);
  const fromPin = pinned === undefined ? null : await s.reads.indexFileOfGeneration(repo.id, pinned, path);
  const idx = fromPin ?? (await s.reads.currentIndexFile(repo.id, path)) ?? (path.includes('/by-hash/') ? await s.reads.historicIndexFile(repo.id, path) : null);
  let blob: BlobToSend;
  let counted: Parameters<typeof countDownload>[4] | null = null;
  if (idx) {
    blob = { sha256: idx.sha256, size: idx.size, contentType: idx.contentType, lastModified: new Date(idx.createdAt), cacheControl: 'no-cache' };
  } else {
    // A merging virtual's package files come from its members and its side files first: Express.
    if (merging) return EXPRESS;
    // Presigned redirects of package files are Express's (sendBlob).
    if (s.config.S3_REDIRECT === 'presigned' && s.blobs.presignedUrl) return EXPRESS;
    let file = null;
    for (const candidate of [path, ...(provider.fallbackPaths?.(path) ?? [])]) if ((file = await s.reads.packageFile(repo.id, candidate))) break;
    if (!file) return EXPRESS;
    blob = { sha256: file.sha256, size: file.size, contentType: contentTypeFor(provider, file.filename), lastModified: new Date(file.createdAt), cacheControl: 'public, max-age=31536000, immutable' };
    counted = file;
  }
  const v = blobValidators(req.headers, blob);
  let body: Buffer | null = null;
  if (!v.notModified && req.method === 'GET') {
    // Larger blobs stream through Express; a blob the cache refuses (damaged) or cannot read too.
    if (!s.bodies.fits(blob.size)) return EXPRESS;
    body = await s.bodies.get(blob.sha256, blob.size, () => s.blobs.get(blobKey(blob.sha256))).catch(() => null);
    if (!body) return EXPRESS;
  }

  answer(s, req, res, started, { provider, repoId: repo.id, path, idx, fromPin, vary, blob, v, body, counted, principal });
}

interface Answer {
  provider: Provider;
  repoId: number;
  path: string;
  idx: CachedIndexFile | null;
  fromPin: CachedIndexFile | null;
  vary: string | undefined;
  blob: BlobToSend;
  v: BlobValidators;
  body: Buffer | null;
  counted: Parameters<typeof countDownload>[4] | null;
  principal: Principal | undefined;
}

/** Answering: from here on, what repo-router.ts and the middleware in app.ts do, in their order. */
function answer(s: Services, req: IncomingMessage, res: ServerResponse, started: bigint, a: Answer): void {
  const { provider, repoId, path, idx, fromPin, vary, blob, v, body, counted, principal } = a;
  // Express takes the pin whatever it serves; only a fresh index answer pins its partners.
  pins.take(req, repoId, path);
  if (idx && idx !== fromPin && idx.generationId) pins.pin(req, repoId, provider.indexPartners?.(path) ?? [], idx.generationId);
  const reqId = requestIdOf(req.headers);
  res.setHeader('X-Request-Id', reqId);
  res.on('finish', () => {
    recordHttpMetrics(s.metrics, req, res, `/repo/${provider.name}/:repo/*`, started);
    logRequest(s.log.child({ reqId }), req, res, req.url!, started, principal?.name);
  });
  if (vary) res.setHeader('Vary', vary);
  setBlobHeaders(res, v, blob);
  if (v.notModified) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Length', String(blob.size));
  res.end(body ?? undefined);
  if (counted) countDownload(s, req, res, provider.name, counted);
}
