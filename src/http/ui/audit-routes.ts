/**
 * The web UI's audit log page: GET /api/audit as a page, newest first, paged in SQL by the
 * same AuditLog service, filtered by a GET form (works without JavaScript, and a filtered
 * view is a link to share). The query is read by `auditFilter` of the API (the same checks
 * and messages); only a date-only "until" means "through that day" here, as a date input
 * gives days and people read "until 31 Jan" as including it.
 */
import express, { type Request, type Router } from 'express';
import type { AuditFilter, AuditView } from '../../core/audit';
import { BadRequestError } from '../../core/errors';
import { providers } from '../../core/provider-registry';
import { TokenService } from '../../core/tokens';
import type { Services } from '../../services';
import { AUDIT_OUTCOMES, auditFilter } from '../ops-router';
import { sqlPage } from './pages';
import { page } from './render';

const DAY_MS = 86_400_000;
const FILTER_KEYS = ['provider', 'repo', 'actor', 'action', 'outcome', 'since', 'until'] as const;

function uiAuditFilter(req: Request): AuditFilter {
  const f = auditFilter(req);
  if (f.until !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(String(req.query.until))) f.until += DAY_MS;
  return f;
}

export function auditRoutes(s: Services): Router {
  const r = express.Router();

  r.get('/audit', async (req, res) => {
    if (!req.principal) return res.redirect(303, `/signin?next=${encodeURIComponent(req.originalUrl)}`);
    TokenService.require(req.principal, 'admin');
    const values = Object.fromEntries(FILTER_KEYS.map((k) => [k, typeof req.query[k] === 'string' ? req.query[k] : '']));
    const model = { nav: 'audit', values, providers: providers.map((p) => p.name), outcomes: AUDIT_OUTCOMES, filtered: FILTER_KEYS.some((k) => values[k]) };
    let filter: AuditFilter;
    try {
      filter = uiAuditFilter(req);
    } catch (e) {
      // A bad filter shows the form again with the reason, not a bare error page.
      if (!(e instanceof BadRequestError)) throw e;
      return page(res, 'audit.njk', { ...model, error: e.message, entries: null }, 400);
    }
    const entries = await sqlPage<AuditView>(req, '/audit', async (p) => {
      const got = await s.audit.list(filter, p);
      return { total: got.total, items: got.entries };
    });
    page(res, 'audit.njk', { ...model, entries });
  });

  return r;
}
