import crypto from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { DomainError, UnauthorizedError } from '../core/errors';
import type { Principal, TokenService } from '../core/tokens';
import type { Logger } from '../util/logger';
import { hasBody } from './json-body';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    principal?: Principal;
    log: Logger;
  }
}

/** Random bytes for request ids, drawn 4 KiB at a time: a randomBytes call per request was 4% of a small GET. Ids only need to be unique, not secret. */
let idPool = Buffer.alloc(0);
let idAt = 0;
function freshRequestId(): string {
  if (idAt + 8 > idPool.length) {
    idPool = crypto.randomBytes(4096);
    idAt = 0;
  }
  idAt += 8;
  return idPool.toString('hex', idAt - 8, idAt);
}

/** The request's id: X-Request-Id when it is a sane one, else a fresh one (16 hex digits). */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const incoming = headers['x-request-id'];
  return typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : freshRequestId();
}

/** The one log line of a finished request (requestLog, and the fast path: src/http/fast-path.ts). */
export function logRequest(log: Logger, req: IncomingMessage, res: ServerResponse, path: string, started: bigint, token: string | undefined): void {
  log.info('request', {
    method: req.method,
    path,
    status: res.statusCode,
    bytes: Number(res.getHeader('Content-Length') ?? 0),
    durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    token,
  });
}

/** Request id (honours X-Request-Id) and one JSON log line per request. */
export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    req.id = requestIdOf(req.headers);
    req.log = log.child({ reqId: req.id });
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => logRequest(req.log, req, res, req.originalUrl.split('?')[0], started, req.principal?.name));
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
  // Express 5 forwards a rejected promise (a bad token's 401) to the error middleware.
  return async (req: Request, _res: Response, next: NextFunction) => {
    const token = extractToken(req.headers.authorization);
    if (token) req.principal = await tokens.authenticate(token);
    next();
  };
}

/**
 * How body-parser (express.json) refusals are answered: each `type` it sets (body-parser 2.x
 * lib/read.js, raw-body index.js) gets its 4xx and a message that names the problem. Without
 * this they fell through to 500 "internal server error".
 */
const BODY_ERRORS: Record<string, { status: number; code: string; message: (e: BodyParserError) => string }> = {
  'entity.parse.failed': { status: 400, code: 'bad_request', message: () => 'malformed JSON body' },
  'entity.too.large': { status: 413, code: 'too_large', message: (e) => `the request body is larger than ${e.limit ?? 'the limit'} bytes` },
  'encoding.unsupported': { status: 415, code: 'unsupported_media_type', message: (e) => `${e.message}; send the body uncompressed or with Content-Encoding gzip, deflate or br` },
  'charset.unsupported': { status: 415, code: 'unsupported_media_type', message: (e) => `unsupported charset "${e.charset ?? ''}" in Content-Type; JSON bodies are utf-8` },
  'entity.verify.failed': { status: 400, code: 'bad_request', message: (e) => `the request body was refused: ${e.message}` },
  'request.aborted': { status: 400, code: 'bad_request', message: () => 'the client closed the connection before the body was complete' },
  'request.size.invalid': { status: 400, code: 'bad_request', message: (e) => `the body is ${e.received ?? '?'} bytes but Content-Length says ${e.expected ?? '?'}` },
  'parameters.too.many': { status: 413, code: 'too_large', message: () => 'too many parameters in the body' },
};

interface BodyParserError extends Error {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  code?: string;
  limit?: number;
  charset?: string;
  received?: number;
  expected?: number;
}

/** `{status, body}` for an error thrown outside the domain: body-parser, and other http-errors 4xx. */
function foreignError(err: BodyParserError): { status: number; body: Record<string, unknown> } | null {
  const known = err.type ? BODY_ERRORS[err.type] : undefined;
  if (known) return { status: known.status, body: { error: known.message(err), code: known.code } };
  const status = err.status ?? err.statusCode;
  // A corrupt gzip/deflate/br body: zlib's error, wrapped by body-parser as a 400 without a type.
  if (status === 400 && typeof err.code === 'string' && /^(Z_|ERR_ZLIB|ERR__ERROR_FORMAT)/.test(err.code)) {
    return { status: 400, body: { error: `the body cannot be decoded as its Content-Encoding says: ${err.message}`, code: 'bad_request' } };
  }
  // Other http-errors client errors (express param decoding, ...): their status; their message is
  // meant for the client (`expose` is true for every 4xx http-errors creates).
  if (typeof status === 'number' && status >= 400 && status < 500 && err.expose === true) return { status, body: { error: err.message, code: 'bad_request' } };
  return null;
}

/** Bodies up to this size are drained after an early refusal rather than cut off. */
const SMALL_BODY = 64 << 10;

/** Domain errors -> `{error, code}` with their status; anything else -> logged 500 without details. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const foreign = err instanceof DomainError || !err || typeof err !== 'object' ? null : foreignError(err as BodyParserError);
    const status = err instanceof DomainError ? err.status : foreign ? foreign.status : 500;
    if (status >= 500) (req.log ?? log).error('unhandled error', { error: (err as Error)?.stack ?? String(err) });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof UnauthorizedError) res.setHeader('WWW-Authenticate', 'Basic realm="artifactd", charset="UTF-8"');
    // Refused before its body was read (an upload without a token, ...): close the connection
    // after the answer instead of letting Node read and discard the rest of a possibly huge body
    // to keep the connection alive (lib/_http_server.js resOnFinish -> req._dump()). A small
    // declared body is read and dropped: a client still sending it (fetch, browsers) would
    // otherwise see a reset instead of the answer.
    if (hasBody(req) && !req.complete && !(Number(req.headers['content-length']) <= SMALL_BODY)) res.setHeader('Connection', 'close');
    const body =
      err instanceof DomainError
        ? { error: err.message, code: err.code, ...(err.details ? { details: err.details } : {}) }
        : foreign
          ? foreign.body
          : { error: 'internal server error', code: 'internal', requestId: req.id };
    res.status(status).json(body);
  };
}
