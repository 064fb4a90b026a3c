/**
 * Web UI sign-in: the session cookie and the CSRF rules (issue 17).
 *
 * `sessionAuth` runs next to `authenticate` (src/http/middleware.ts): a request without an
 * Authorization header but with a session cookie is the session's token, for reads. For a
 * request that changes something the cookie alone is never enough: a UI route calls
 * `acceptForm`, which checks that the request comes from our own pages (`Sec-Fetch-Site`,
 * `Origin`) and carries the session's synchronizer CSRF token, and only then lets the
 * session's token act. So a cross-site form post, or a POST to the JSON API riding on the
 * cookie, gets no principal at all (OWASP CSRF Prevention Cheat Sheet: synchronizer token
 * pattern plus "verifying origin with standard headers").
 */
import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../core/errors';
import type { Principal } from '../core/tokens';
import type { Session, SessionService } from '../core/sessions';
import type { Services } from '../services';
import { baseUrl } from './urls';

export const SESSION_COOKIE = 'artifactd_session';
/** The form field (and for scripted uploads also the `X-CSRF-Token` header) that carries the CSRF token. */
export const CSRF_FIELD = '_csrf';

declare module 'express-serve-static-core' {
  interface Request {
    /** The signed-in session of the cookie, if any (its principal acts on reads, and on writes after `acceptForm`). */
    session?: Session & { id: string };
  }
}

/** Refused as a cross-site request forgery (403, code `csrf`). */
export class CsrfError extends DomainError {
  constructor(message: string) {
    super(403, 'csrf', message);
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionAuth(sessions: SessionService) {
  return (req: Request, _res: Response, next: NextFunction) => {
    // A token sent by a tool wins; tools never need the cookie.
    if (req.principal || req.headers.authorization) return next();
    const id = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (!id) return next();
    sessions.lookup(id).then((session) => {
      if (session) {
        req.session = { ...session, id };
        if (SAFE_METHODS.has(req.method)) req.principal = session.principal;
      }
      next();
    }, next);
  };
}

/** Whether cookies must be `Secure`: the request came over HTTPS, or BASE_URL says the site is HTTPS. */
export function secureCookies(s: Services, req: Request): boolean {
  return req.secure || (s.config.BASE_URL ?? '').startsWith('https:');
}

export function sessionCookie(s: Services, req: Request, value: string, maxAgeSeconds: number): string {
  const attrs = [`${SESSION_COOKIE}=${value}`, 'Path=/', `Max-Age=${maxAgeSeconds}`, 'HttpOnly', 'SameSite=Strict'];
  if (secureCookies(s, req)) attrs.push('Secure');
  return attrs.join('; ');
}

/**
 * The request comes from a page of this site. Browsers send `Sec-Fetch-Site` with every
 * request (Fetch Metadata) and `Origin` with every POST; a request with neither is not a
 * browser form and is left to the CSRF token.
 */
export function requireSameOrigin(s: Services, req: Request): void {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin') throw new CsrfError(`cross-site request refused (Sec-Fetch-Site: ${site}); use the forms of this site`);
  const origin = req.headers.origin;
  if (origin === undefined) return;
  const own = new Set([new URL(baseUrl(s, req)).origin, `${req.protocol}://${req.get('host') ?? ''}`]);
  if (!own.has(origin)) throw new CsrfError(`cross-origin request refused (Origin: ${origin}); use the forms of this site`);
}

/**
 * A state-changing form of a signed-in user: same origin and the session's CSRF token, then
 * the session's token acts for this request. A request with its own Authorization header
 * (curl, rpcli) is not a browser form and needs neither.
 */
export function acceptForm(s: Services, req: Request, submitted: unknown): Principal | undefined {
  if (req.headers.authorization) return req.principal;
  requireSameOrigin(s, req);
  if (!req.session) return undefined;
  const expected = Buffer.from(req.session.csrfToken);
  const got = Buffer.from(typeof submitted === 'string' ? submitted : '');
  if (got.length !== expected.length || !crypto.timingSafeEqual(got, expected)) {
    throw new CsrfError('the form is out of date or was not sent from this site (missing or wrong CSRF token); reload the page and try again');
  }
  req.principal = req.session.principal;
  return req.principal;
}
