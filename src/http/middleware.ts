import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { DomainError, UnauthorizedError } from '../core/errors';
import type { Principal, TokenService } from '../core/tokens';
import type { Logger } from '../util/logger';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    principal?: Principal;
    log: Logger;
  }
}

/** Request id (honours X-Request-Id) and one JSON log line per request. */
export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : crypto.randomBytes(8).toString('hex');
    req.log = log.child({ reqId: req.id });
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      req.log.info('request', {
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status: res.statusCode,
        bytes: Number(res.getHeader('Content-Length') ?? 0),
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        token: req.principal?.name,
      });
    });
    next();
  };
}

/** `Authorization: Bearer <token>`, or basic auth with the token as password (twine, curl -u, pip, apt). */
export function extractToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!value) return undefined;
  if (/^bearer$/i.test(scheme) || /^token$/i.test(scheme)) return value.trim();
  if (/^basic$/i.test(scheme)) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const password = colon >= 0 ? decoded.slice(colon + 1) : decoded;
    return password || undefined;
  }
  return undefined;
}

export function authenticate(tokens: TokenService) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const token = extractToken(req.headers.authorization);
    if (!token) return next();
    tokens.authenticate(token).then(
      (p) => {
        req.principal = p;
        next();
      },
      next,
    );
  };
}

/** Domain errors -> `{error, code}` with their status; anything else -> logged 500 without details. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof DomainError ? err.status : (err as { status?: number; type?: string }).type === 'entity.parse.failed' ? 400 : 500;
    if (status >= 500) (req.log ?? log).error('unhandled error', { error: (err as Error)?.stack ?? String(err) });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof UnauthorizedError) res.setHeader('WWW-Authenticate', 'Basic realm="artifactd", charset="UTF-8"');
    const body =
      err instanceof DomainError
        ? { error: err.message, code: err.code, ...(err.details ? { details: err.details } : {}) }
        : status === 400
          ? { error: 'malformed JSON body', code: 'bad_request' }
          : { error: 'internal server error', code: 'internal', requestId: req.id };
    res.status(status).json(body);
  };
}

/** Wrap async route handlers so rejections reach the error middleware. */
export function asyncRoute<T extends Request>(fn: (req: T, res: Response, next: NextFunction) => Promise<unknown>) {
  return (req: T, res: Response, next: NextFunction) => {
    fn(req, res, next).catch(next);
  };
}
