/**
 * Signing in and out of the web UI, the token page (create, list, revoke: the same service
 * and validation as /api/tokens) and the CLI help page.
 */
import express, { type Request, type Response, type Router } from 'express';
import { DomainError, UnauthorizedError } from '../../core/errors';
import type { SessionService } from '../../core/sessions';
import { TokenService, type Principal } from '../../core/tokens';
import type { Services } from '../../services';
import { parseBody, tokenBody } from '../admin-router';
import { noteAudit } from '../ops-middleware';
import { acceptForm, CSRF_FIELD, readCookie, requireSameOrigin, SESSION_COOKIE, sessionCookie } from '../session';
import { baseUrl } from '../urls';
import { page } from './render';

/** Only a path on this site (`/ui/...`), never `//evil.example` or `https://...`: no open redirect. */
export function localPath(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s\\]*$/.test(next) ? next : '/';
}

const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 50 });

/** The admin-over-everything principal a token form needs, or 401/403 (the same rule as /api/tokens). */
function tokenAdmin(s: Services, req: Request): Principal {
  return TokenService.require(acceptForm(s, req, req.body?.[CSRF_FIELD]), 'admin');
}

export function cliHelp(s: Services, req: Request) {
  const base = baseUrl(s, req);
  return {
    installLine: `curl -fsSL ${base}/rpcli/install.sh | sh`,
    uploadCurl: `curl -H "Authorization: Bearer $TOKEN" -F f=@hello_1.0_amd64.deb '${base}/addpkg?reponame=myrepo'`,
    uploadRpcli: `rpcli upload -r myrepo hello_1.0_amd64.deb`,
  };
}

export function accountRoutes(s: Services, sessions: SessionService): Router {
  const r = express.Router();

  const signinPage = (req: Request, res: Response, error: string | null, status = 200) =>
    page(res, 'signin.njk', { nav: 'signin', next: localPath(req.query.next ?? req.body?.next), error }, status);

  r.get('/signin', (req, res) => signinPage(req, res, null));

  r.post('/signin', form, async (req, res) => {
    // No session yet, so no CSRF token: the origin check keeps other sites from signing a visitor in with their token.
    requireSameOrigin(s, req);
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    if (!token) return signinPage(req, res, 'Paste a token to sign in.', 400);
    let created;
    try {
      created = await sessions.create(token);
    } catch (e) {
      if (e instanceof UnauthorizedError) return signinPage(req, res, `That token does not work: ${e.message}.`, 401);
      throw e;
    }
    const old = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (old) await sessions.end(old);
    res.setHeader('Set-Cookie', sessionCookie(s, req, created.sessionId, Math.floor((created.session.expiresAt - Date.now()) / 1000)));
    res.redirect(303, localPath(req.body?.next));
  });

  r.post('/signout', form, async (req, res) => {
    if (req.session) {
      acceptForm(s, req, req.body?.[CSRF_FIELD]);
      await sessions.end(req.session.id);
    }
    res.setHeader('Set-Cookie', sessionCookie(s, req, '', 0));
    res.redirect(303, '/');
  });

  r.get('/cli', (req, res) => page(res, 'cli.njk', { nav: 'cli', cli: cliHelp(s, req) }));

  const tokensPage = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    TokenService.require(req.principal, 'admin');
    page(res, 'tokens.njk', { nav: 'tokens', tokens: await s.tokens.list(), form: { role: 'read', repoPattern: '*' }, ...extra }, status);
  };

  r.get('/tokens', async (req, res) => {
    if (!req.principal) return res.redirect(303, `/signin?next=${encodeURIComponent('/tokens')}`);
    await tokensPage(req, res);
  });

  r.post('/tokens', form, async (req, res) => {
    tokenAdmin(s, req);
    const raw = req.body ?? {};
    const body = {
      name: String(raw.name ?? '').trim(),
      role: String(raw.role ?? ''),
      ...(String(raw.repoPattern ?? '').trim() ? { repoPattern: String(raw.repoPattern).trim() } : {}),
      ...(String(raw.expiresInDays ?? '').trim() ? { expiresInDays: Number(raw.expiresInDays) } : {}),
    };
    try {
      const { token, view } = await s.tokens.create(parseBody(tokenBody, body, 'token'));
      await tokensPage(req, res, { created: { token, view } }, 201);
    } catch (e) {
      if (!(e instanceof DomainError) || e.status !== 400) throw e;
      await tokensPage(req, res, { error: e.message, form: { ...raw } }, 400);
    }
  });

  r.post('/tokens/:id/revoke', form, async (req, res) => {
    // The audit entry names the token as DELETE /api/tokens/:id's does.
    noteAudit(res, { target: `token ${String(req.params.id)}` });
    tokenAdmin(s, req);
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id < 1) throw new DomainError(400, 'bad_request', `token id must be a positive integer, got "${req.params.id}"`);
    await s.tokens.revoke(id);
    res.redirect(303, '/tokens?notice=revoked');
  });

  return r;
}
