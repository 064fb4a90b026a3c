/**
 * The web UI: server-rendered pages (home, search, repository, package), SVG plots, and
 * HTML error pages for everything under /ui/; sign-in, uploads and management forms live in
 * src/http/ui/*-routes.ts. Pages work without JavaScript; /static/ui.js only adds copy
 * buttons and upload progress. A strict Content-Security-Policy (no inline script, no foreign
 * origins) backs up the templates' autoescaping.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { DomainError, NotFoundError, UnauthorizedError } from '../core/errors';
import type { Services } from '../services';
import './ui/format';
import { homeModel, packageModel, repoModel, requireRepo, searchModel } from './ui/pages';
import { downloadsChart, sizeChart, uploadsChart } from './ui/plots';
import { nameKeyOf } from '../core/catalog';
import type { SessionService } from '../core/sessions';
import { accountRoutes } from './ui/account-routes';
import { manageRoutes } from './ui/manage-routes';
import { page } from './ui/render';
import { uploadRoutes } from './ui/upload-routes';
import { webhookRoutes } from './ui/webhook-routes';
import { auditRoutes } from './ui/audit-routes';

// SVG served on its own: its inline <style> is the only thing it may use.
const SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'";

function svg(res: Response, body: string): void {
  res.setHeader('Content-Security-Policy', SVG_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-cache');
  res.type('image/svg+xml').send(body);
}

const param = (req: Request, name: string) => String(req.params[name]);

export function uiRouter(s: Services, sessions: SessionService): Router {
  const r = express.Router();
  // Sign-in, tokens, uploads, the manage forms, webhooks and the audit log (their paths never collide with the pages below).
  r.use(accountRoutes(s, sessions));
  r.use(uploadRoutes(s));
  r.use(manageRoutes(s));
  r.use(webhookRoutes(s));
  r.use(auditRoutes(s));

  // The home page doubles as the search page when given ?q=, so the header form works anywhere.
  r.get('/', async (req, res) => {
    if (typeof req.query.q === 'string') {
      page(res, 'search.njk', { ...(await searchModel(s, req)), nav: 'search' });
      return;
    }
    page(res, 'home.njk', { ...(await homeModel(s, req)), nav: 'home' });
  });
  r.get('/search', async (req, res) => page(res, 'search.njk', { ...(await searchModel(s, req)), nav: 'search' }));
  r.get(['/ui', '/ui/'], (_req, res) => res.redirect(302, '/'));

  r.get('/ui/:provider/:repo/plots/:plot.svg', async (req, res) => {
    const { provider, repo } = await requireRepo(s, req, param(req, 'provider'), param(req, 'repo'));
    const files = await s.catalog.uploads(repo);
    const label = `${provider.name}/${repo.name}`;
    if (req.params.plot === 'size') return svg(res, sizeChart(label, files, Date.now()));
    if (req.params.plot === 'uploads') {
      const days = Math.min(Math.max(Number.parseInt(String(req.query.days ?? '30'), 10) || 30, 7), 366);
      return svg(res, uploadsChart(label, files, Date.now(), days));
    }
    if (req.params.plot === 'downloads') {
      // The repository's downloads, or one package's (?package=<name>); index files are not counted.
      const days = Math.min(Math.max(Number.parseInt(String(req.query.days ?? '30'), 10) || 30, 7), 366);
      const name = typeof req.query.package === 'string' && req.query.package ? req.query.package : null;
      const key = name === null ? null : nameKeyOf(provider, name);
      const perDay = await s.downloads.perDay(repo.id, key, Math.floor(Date.now() / 86_400_000) - days);
      return svg(res, downloadsChart(name === null ? label : `${name} in ${label}`, perDay, Date.now(), days));
    }
    throw new NotFoundError(`there is no plot "${req.params.plot}" (size, uploads, downloads)`);
  });

  r.get('/ui/:provider/:repo', async (req, res) => {
    page(res, 'repo.njk', await repoModel(s, req, param(req, 'provider'), param(req, 'repo')));
  });

  r.get('/ui/:provider/:repo/:name', async (req, res) => {
    page(res, 'package.njk', await packageModel(s, req, param(req, 'provider'), param(req, 'repo'), param(req, 'name')));
  });

  r.use('/ui', (req, _res, next) => next(new NotFoundError(`there is no page at ${req.originalUrl.split('?')[0]}`)));

  // HTML errors for the pages above; anything else (API, /repo/) keeps the JSON error handler.
  r.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    // Scripted requests of the pages (ui.js uploads) get the API's JSON errors.
    if (res.headersSent || req.accepts(['html', 'json']) === 'json') return next(err);
    const status = err instanceof DomainError ? err.status : 500;
    if (status >= 500) req.log.error('unhandled error', { error: (err as Error)?.stack ?? String(err) });
    if (err instanceof UnauthorizedError) res.setHeader('WWW-Authenticate', 'Basic realm="artifactd", charset="UTF-8"');
    const titles: Record<number, string> = { 400: 'Bad request', 401: 'Sign in required', 403: 'Not allowed', 404: 'Not found' };
    page(res, 'error.njk', {
      status,
      heading: titles[status] ?? (status >= 500 ? 'Something went wrong' : 'Error'),
      message: err instanceof DomainError ? err.message : `The server could not show this page (request ${req.id}).`,
      signinNext: (status === 401 || status === 403) && req.method === 'GET' ? req.originalUrl : null,
    }, status);
  });
  return r;
}
