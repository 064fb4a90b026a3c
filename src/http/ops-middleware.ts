/**
 * Per-request operations plumbing, mounted in app.ts: the request context (actor, client
 * address, base URL for event payloads), Prometheus HTTP metrics by route template, and the
 * audit trail of every write, refused ones included.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { AuditLog } from '../core/audit';
import { NotFoundError } from '../core/errors';
import { TokenService } from '../core/tokens';
import type { Metrics } from '../core/metrics';
import { providers } from '../core/provider-registry';
import { runWithContext } from '../core/request-context';
import type { Services } from '../services';
import { baseUrl } from './urls';

const KNOWN_PROVIDERS = new Set(providers.map((p) => p.name));
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The route template of a request: the mount point's template plus the matched route's path.
 * Express keeps `req.route` after the router is left (an error on the way out), but not the
 * mount path, so the mount is derived from the URL: `/api`, or `/repo/<provider>/:repo`
 * (providers are a fixed set). Unrouted repository paths (package and index files) are `/*`.
 */
export function routeTemplate(req: Request): string {
  const path = req.originalUrl.split('?')[0];
  const route = (req.route as { path?: unknown } | undefined)?.path;
  const routePath = typeof route === 'string' ? route : Array.isArray(route) ? String(route[0]) : undefined;
  const repo = /^\/repo\/([^/]+)(\/[^/]+)?/.exec(path);
  if (repo) {
    const mount = KNOWN_PROVIDERS.has(repo[1]) ? `/repo/${repo[1]}${repo[2] ? '/:repo' : ''}` : '/repo/:provider';
    return mount + (routePath && routePath !== '/' ? routePath : '/*');
  }
  if (path.startsWith('/api/') && routePath) return `/api${routePath}`;
  if (routePath) return routePath;
  if (path.startsWith('/static/')) return '/static/*';
  return '<unmatched>';
}

/** After `authenticate`: everything the request does runs with its actor and address. */
export function requestContext(s: Services) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const p = req.principal;
    // Address and base URL walk the trust-proxy rules: worked out only if an event or audit
    // entry asks (few requests do; a package download never does).
    runWithContext(
      {
        actor: { id: p?.tokenId ?? null, name: p?.name ?? 'anonymous' },
        get clientIp() {
          return req.ip ?? '';
        },
        get baseUrl() {
          return baseUrl(s, req);
        },
      },
      next,
    );
  };
}

/** One request's counters and histogram (httpMetrics, and the fast path: src/http/fast-path.ts). */
export function recordHttpMetrics(metrics: Metrics, req: IncomingMessage, res: ServerResponse, route: string, started: bigint): void {
  const method = req.method ?? '';
  metrics.httpRequests.inc({ method, route, status: String(res.statusCode) });
  metrics.httpDuration.observe({ method, route }, Number(process.hrtime.bigint() - started) / 1e9);
  // Content-Length of what was sent (streamed blobs set it; a HEAD sends no body).
  const sent = method === 'HEAD' || res.statusCode === 304 ? 0 : Number(res.getHeader('Content-Length') ?? 0);
  if (sent > 0) metrics.bytesSent.inc({ route }, sent);
  // Uploads stream to disk (src/http/multipart.ts); what they declared is what arrived when they succeed.
  const received = Number(req.headers['content-length'] ?? 0);
  if (received > 0 && WRITE_METHODS.has(method)) metrics.bytesReceived.inc({ route }, received);
}

export function httpMetrics(metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => recordHttpMetrics(metrics, req, res, routeTemplate(req), started));
    next();
  };
}

/** Action names of the write routes (by method and route template); anything else is `<METHOD> <template>`. */
const ACTIONS: Record<string, string> = {
  'POST /addpkg': 'package.upload',
  'POST /addpkg/batch': 'package.upload',
  'POST /api/repos/:provider/:repo/publish': 'repo.publish',
  'DELETE /api/repos/:provider/:repo/packages/:name/:version': 'package.delete',
  'DELETE /api/repos/:provider/:repo/packages/:name': 'package.delete',
  'POST /api/repos/:provider/:repo/packages/:name/:version/yank': 'package.yank',
  'DELETE /api/repos/:provider/:repo/packages/:name/:version/yank': 'package.unyank',
  'PATCH /api/repos/:provider/:repo/settings': 'repo.settings',
  'POST /api/repos/:provider/:repo/clean': 'repo.clean',
  'POST /api/repos/:provider/:repo/reindex': 'repo.reindex',
  'POST /api/repos/:provider/:repo/keys/import': 'key.import',
  'POST /api/repos/:provider/:repo/keys/rotate': 'key.rotate',
  'POST /api/gc': 'gc',
  'POST /api/tokens': 'token.create',
  'DELETE /api/tokens/:id': 'token.revoke',
  'POST /api/webhooks': 'webhook.create',
  'PATCH /api/webhooks/:id': 'webhook.update',
  'DELETE /api/webhooks/:id': 'webhook.delete',
  'POST /api/webhooks/:id/test': 'webhook.test',
  'POST /api/webhooks/:id/deliveries/:delivery/redeliver': 'webhook.redeliver',
  // The web UI's forms (src/http/ui/*-routes.ts) do the same things under the same names.
  'POST /upload': 'package.upload',
  'POST /ui/:provider/:repo/-/delete': 'package.delete',
  'POST /ui/:provider/:repo/-/settings': 'repo.settings',
  'POST /ui/:provider/:repo/-/keys/rotate': 'key.rotate',
  'POST /tokens': 'token.create',
  'POST /tokens/:id/revoke': 'token.revoke',
  'POST /webhooks': 'webhook.create',
  'POST /webhooks/:id': 'webhook.update',
  'POST /webhooks/:id/delete': 'webhook.delete',
  'POST /webhooks/:id/test': 'webhook.test',
  'POST /webhooks/:id/deliveries/:delivery/redeliver': 'webhook.redeliver',
};

/** The values of a template's `:params` in a path (`req.params` is gone once an error left the router). */
function paramsOf(template: string, path: string): Record<string, string> {
  const t = template.split('/');
  const p = path.split('/');
  const out: Record<string, string> = {};
  t.forEach((seg, i) => {
    if (seg.startsWith(':') && p[i] !== undefined) {
      try {
        out[seg.slice(1)] = decodeURIComponent(p[i]);
      } catch {
        out[seg.slice(1)] = p[i];
      }
    }
  });
  return out;
}

/** What a handler tells the audit trail that the URL does not say (an upload's repository and file). */
export interface AuditNote {
  provider?: string;
  repo?: string;
  target?: string;
}

export function noteAudit(res: Response, note: AuditNote): void {
  res.locals.audit = { ...(res.locals.audit as AuditNote | undefined), ...note };
}

/** Before the error handler: keep the error's message for the audit entry. */
export function auditErrors() {
  return (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    res.locals.auditError = (err as Error)?.message ?? String(err);
    next(err);
  };
}

/** One audit entry per write request, when its answer is sent (or the client went away). */
export function auditTrail(audit: AuditLog) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!WRITE_METHODS.has(req.method)) return next();
    let done = false;
    const record = (aborted: boolean) => {
      if (done) return;
      done = true;
      const template = routeTemplate(req);
      const path = req.originalUrl.split('?')[0];
      const isUpload = template.startsWith('/repo/');
      const key = `${req.method} ${isUpload ? '/repo' : template}`;
      const action = ACTIONS[key] ?? (isUpload && req.method === 'POST' ? 'package.upload' : key);
      const params = paramsOf(template, path);
      const note = (res.locals.audit ?? {}) as AuditNote;
      const provider = note.provider ?? params.provider ?? (isUpload ? path.split('/')[2] : undefined);
      const repo = note.repo ?? params.repo;
      const target =
        note.target ??
        ([params.name, params.version].filter(Boolean).join(' ') || (params.id ? `${template.split('/')[2]?.replace(/s$/, '')} ${params.id}${params.delivery ? ` delivery ${params.delivery}` : ''}` : '') || (repo ? `${provider}/${repo}` : path));
      const p = req.principal;
      void audit.record({
        action,
        provider: provider ?? null,
        repo: repo ?? null,
        target,
        status: aborted && !res.writableFinished ? 499 : res.statusCode,
        detail: (res.locals.auditError as string | undefined) ?? (aborted && !res.writableFinished ? 'the client went away before the answer' : null),
        actor: { id: p?.tokenId ?? null, name: p?.name ?? 'anonymous' },
        clientIp: req.ip ?? '',
      });
    };
    res.on('finish', () => record(false));
    res.on('close', () => record(true));
    next();
  };
}

/**
 * After a package file was answered: a GET that sent the file (200, a presigned redirect, or
 * a range from byte 0, the start of a download; resumed ranges are not counted again) counts.
 */
export function countDownload(s: Services, req: Pick<IncomingMessage, 'method'>, res: Pick<ServerResponse, 'statusCode' | 'getHeader'>, provider: string, file: { id: number; repoId: number; nameKey: string }): void {
  if (req.method !== 'GET') return;
  const status = res.statusCode;
  if (status === 200 || status === 302 || (status === 206 && String(res.getHeader('Content-Range') ?? '').startsWith('bytes 0-'))) {
    s.downloads.count(file);
    s.metrics.downloads.inc({ provider });
  }
}

/** GET /metrics in the Prometheus text format, as the METRICS setting allows. */
export function metricsEndpoint(s: Services) {
  return async (req: Request, res: Response) => {
    if (s.config.METRICS === 'off') throw new NotFoundError('metrics are off (METRICS=off)');
    if (s.config.METRICS === 'admin') TokenService.require(req.principal, 'admin');
    const body = await s.metrics.registry.metrics();
    res.setHeader('Cache-Control', 'no-store');
    res.type(s.metrics.registry.contentType).send(body);
  };
}
