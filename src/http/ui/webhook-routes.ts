/**
 * The web UI's webhook pages (issue 17, on top of issue 16's webhooks): list, create, change,
 * delete (behind a confirmation page), send a test ping, and each webhook's deliveries with
 * "redeliver". Each form is the twin of a /api/webhooks route (src/http/ops-router.ts): the
 * same WebhookService, the same zod bodies (`createBody`, `updateBody`) and the same rule, an
 * admin token over every repository. Every POST passes `acceptForm` (same origin + CSRF token).
 */
import express, { type Request, type Response, type Router } from 'express';
import { DomainError } from '../../core/errors';
import { EVENT_TYPES } from '../../core/events';
import { TokenService } from '../../core/tokens';
import type { DeliveryView, WebhookView } from '../../core/webhooks';
import type { Services } from '../../services';
import { parseBody } from '../admin-router';
import { noteAudit } from '../ops-middleware';
import { createBody, positiveId, updateBody } from '../ops-router';
import { acceptForm, CSRF_FIELD } from '../session';
import { sqlPage } from './pages';
import { page } from './render';

const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 50 });
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** What the event checkboxes offer: every type the core sends, and `*` (also types added later). */
const EVENT_CHOICES = [{ value: '*', label: 'Every event, also types added later' }, ...EVENT_TYPES.map((t) => ({ value: t, label: t }))];

/** The form's fields as the template shows them again after a refusal. */
interface WebhookFormValues {
  url: string;
  events: string[];
  repoPattern: string;
  active: boolean;
  description: string;
}

const NEW_WEBHOOK: WebhookFormValues = { url: '', events: ['*'], repoPattern: '*', active: true, description: '' };

/** Checked checkboxes arrive as one string or, when several are checked, an array (express.urlencoded). */
const checked = (v: unknown): string[] => [v].flat().filter((x): x is string => typeof x === 'string');

function typedValues(raw: Record<string, unknown>): WebhookFormValues {
  return { url: str(raw.url).trim(), events: checked(raw.events), repoPattern: str(raw.repoPattern).trim(), active: raw.active === 'true', description: str(raw.description).trim() };
}

export function webhookRoutes(s: Services): Router {
  const r = express.Router();

  /** The same rule as /api/webhooks: an admin token over every repository. */
  const admin = (req: Request) => TokenService.require(req.principal, 'admin');
  /** For POSTs: the form's CSRF token first, then the same check. */
  const adminForm = (req: Request) => TokenService.require(acceptForm(s, req, req.body?.[CSRF_FIELD]), 'admin');
  /** The audit entry names the webhook ("webhook 3"), as the API's entries do. */
  const noteWebhook = (req: Request, res: Response) => noteAudit(res, { target: `webhook ${String(req.params.id)}${req.params.delivery ? ` delivery ${String(req.params.delivery)}` : ''}` });

  /** Each webhook with its newest delivery: one small query per webhook (a server has a handful). */
  const listPage = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    const hooks = await s.webhooks.list();
    const rows = await Promise.all(hooks.map(async (w) => ({ ...w, href: `/webhooks/${w.id}`, last: (await s.webhooks.deliveries(w.id, { limit: 1, offset: 0 })).deliveries[0] ?? null })));
    page(res, 'webhooks.njk', { nav: 'webhooks', webhooks: rows, choices: EVENT_CHOICES, form: NEW_WEBHOOK, ...extra }, status);
  };

  const detailPage = async (req: Request, res: Response, hook: WebhookView, extra: Record<string, unknown> = {}, status = 200) => {
    const path = `/webhooks/${hook.id}`;
    const deliveries = await sqlPage<DeliveryView>(req, path, async (p) => {
      const got = await s.webhooks.deliveries(hook.id, p);
      return { total: got.total, items: got.deliveries };
    });
    page(res, 'webhook.njk', { nav: 'webhooks', hook: { ...hook, href: path }, form: hook, choices: EVENT_CHOICES, deliveries, ...extra }, status);
  };

  const hookOf = (req: Request) => s.webhooks.get(positiveId(req.params.id, 'webhook id'));

  r.get('/webhooks', async (req, res) => {
    if (!req.principal) return res.redirect(303, `/signin?next=${encodeURIComponent('/webhooks')}`);
    admin(req);
    await listPage(req, res);
  });

  r.post('/webhooks', form, async (req, res) => {
    adminForm(req);
    const raw = (req.body ?? {}) as Record<string, unknown>;
    const typed = typedValues(raw);
    // An empty secret field means "generate one", as a create body without `secret` does.
    const secret = str(raw.secret);
    const body = { url: typed.url, events: typed.events, repoPattern: typed.repoPattern || '*', active: typed.active, description: typed.description, ...(secret ? { secret } : {}) };
    try {
      const created = await s.webhooks.create(parseBody(createBody, body, 'webhook'));
      noteAudit(res, { target: `webhook ${created.view.id}` });
      await listPage(req, res, { created: { view: created.view, secret: created.secret ?? null, href: `/webhooks/${created.view.id}` } }, 201);
    } catch (e) {
      if (!(e instanceof DomainError) || e.status !== 400) throw e;
      // Show what was typed (never the secret), with the reasons, and keep nothing.
      await listPage(req, res, { error: e.message, form: typed }, 400);
    }
  });

  r.get('/webhooks/:id', async (req, res) => {
    admin(req);
    await detailPage(req, res, await hookOf(req));
  });

  // The edit form: active flag, events and repository pattern (PATCH /api/webhooks/:id).
  r.post('/webhooks/:id', form, async (req, res) => {
    noteWebhook(req, res);
    adminForm(req);
    const hook = await hookOf(req);
    const typed = typedValues(req.body ?? {});
    try {
      await s.webhooks.update(hook.id, parseBody(updateBody, { events: typed.events, repoPattern: typed.repoPattern, active: typed.active }, 'webhook change'));
    } catch (e) {
      if (!(e instanceof DomainError) || e.status !== 400) throw e;
      return detailPage(req, res, hook, { error: e.message, form: { ...hook, ...typed } }, 400);
    }
    res.redirect(303, `/webhooks/${hook.id}?notice=webhook-saved`);
  });

  r.get('/webhooks/:id/delete', async (req, res) => {
    admin(req);
    const hook = await hookOf(req);
    page(res, 'webhook-delete.njk', { nav: 'webhooks', hook: { ...hook, href: `/webhooks/${hook.id}` } });
  });

  r.post('/webhooks/:id/delete', form, async (req, res) => {
    noteWebhook(req, res);
    adminForm(req);
    await s.webhooks.remove(positiveId(req.params.id, 'webhook id'));
    res.redirect(303, '/webhooks?notice=webhook-deleted');
  });

  r.post('/webhooks/:id/test', form, async (req, res) => {
    noteWebhook(req, res);
    adminForm(req);
    const d = await s.webhooks.ping(positiveId(req.params.id, 'webhook id'));
    res.redirect(303, `/webhooks/${d.webhookId}?notice=webhook-ping`);
  });

  r.post('/webhooks/:id/deliveries/:delivery/redeliver', form, async (req, res) => {
    noteWebhook(req, res);
    adminForm(req);
    const d = await s.webhooks.redeliver(positiveId(req.params.id, 'webhook id'), positiveId(req.params.delivery, 'delivery id'));
    res.redirect(303, `/webhooks/${d.webhookId}?notice=webhook-redeliver`);
  });

  return r;
}
