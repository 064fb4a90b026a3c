/**
 * Rendering a UI page: the strict Content-Security-Policy (no inline script or style, no
 * foreign origins, forms post only to this site) and, in every page's context, `viewer`:
 * who is signed in, what their token may do, and the CSRF token the page's forms carry.
 */
import type { Request, Response } from 'express';
import { TokenService } from '../../core/tokens';
import { render } from '../views';
import { CSRF_FIELD } from '../session';

export const HTML_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface Viewer {
  signedIn: boolean;
  /** Token name, role and repository pattern (what the page header shows). */
  name: string;
  role: string;
  repoPattern: string;
  csrfField: string;
  csrfToken: string;
  /** May manage tokens (an admin over every repository, as POST /api/tokens requires). */
  canManageTokens: boolean;
  /** May upload somewhere: write or admin, on the repositories of its pattern. */
  canUpload: boolean;
  /** May see the webhooks and audit log pages (the same rule as /api/webhooks and /api/audit: admin over every repository). */
  canOperate: boolean;
}

export function viewerOf(req: Request): Viewer {
  const p = req.session?.principal ?? req.principal;
  return {
    signedIn: Boolean(req.session),
    name: p?.name ?? '',
    role: p?.role ?? '',
    repoPattern: p?.repoPattern ?? '',
    csrfField: CSRF_FIELD,
    csrfToken: req.session?.csrfToken ?? '',
    canManageTokens: p ? allowsEverywhere(p, 'admin') : false,
    canUpload: p ? p.role !== 'read' : false,
    canOperate: p ? allowsEverywhere(p, 'admin') : false,
  };
}

function allowsEverywhere(p: NonNullable<Request['principal']>, role: 'write' | 'admin'): boolean {
  try {
    TokenService.require(p, role);
    return p.repoPattern === '*';
  } catch {
    return false;
  }
}

/** Messages after a form's redirect (`?notice=<code>`): fixed texts, so a link cannot put words in the page. */
const NOTICES: Record<string, string> = {
  deleted: 'The version was deleted and the indexes republished.',
  yanked: 'The version was yanked and the indexes republished.',
  unyanked: 'The version was un-yanked and the indexes republished.',
  settings: 'The settings were saved.',
  rotated: 'A new key signs this repository now; clients need the new public key.',
  revoked: 'The token was revoked; its sessions have ended.',
  'webhook-saved': 'The webhook was saved.',
  'webhook-deleted': 'The webhook and its delivery records were deleted.',
  'webhook-ping': 'A test ping was queued; reload the page to see its delivery.',
  'webhook-redeliver': 'The delivery was queued again; reload the page to see the result.',
};

export function page(res: Response, template: string, context: Record<string, unknown>, status = 200): void {
  res.status(status);
  res.setHeader('Content-Security-Policy', HTML_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  // Pages of a signed-in user show what their token may see: never store them in shared caches.
  res.setHeader('Cache-Control', res.req.session ? 'no-store' : 'no-cache');
  res.type('html').send(render(template, { viewer: viewerOf(res.req), notice: NOTICES[String(res.req.query.notice)] ?? null, ...context }));
}
