/**
 * The operations API (admin over every repository): webhooks and their deliveries, and the
 * audit log. Mounted at /api next to admin-router.ts.
 */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { AuditFilter } from '../core/audit';
import { BadRequestError } from '../core/errors';
import { EVENT_TYPES } from '../core/events';
import { TokenService } from '../core/tokens';
import type { Services } from '../services';
import { page } from './paging';

function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const reasons = r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  throw new BadRequestError(`invalid ${what}: ${reasons.join('; ')}`, { reasons });
}

const eventList = z.array(z.enum([...EVENT_TYPES, '*'])).min(1).max(EVENT_TYPES.length + 1);
const webhookFields = {
  url: z.url({ message: 'an absolute http(s) URL' }).max(2048),
  secret: z.string().min(16, 'at least 16 characters').max(256),
  events: eventList,
  repoPattern: z.string().regex(/^[A-Za-z0-9._+*-]{1,255}$/, 'repository name characters and "*"'),
  active: z.boolean(),
  description: z.string().max(255),
};
/** The create and change bodies of /api/webhooks; the web UI's webhook forms validate with them too. */
export const createBody = z.strictObject({ ...webhookFields, secret: webhookFields.secret.optional(), events: eventList.optional(), repoPattern: webhookFields.repoPattern.optional(), active: z.boolean().optional(), description: webhookFields.description.optional() });
export const updateBody = z.strictObject(Object.fromEntries(Object.entries(webhookFields).map(([k, v]) => [k, v.optional()])) as { [K in keyof typeof webhookFields]: z.ZodOptional<(typeof webhookFields)[K]> });

export function positiveId(raw: unknown, what: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id < 1) throw new BadRequestError(`${what} must be a positive integer, got "${String(raw)}"`);
  return id;
}

/** `2025-01-31`, `2025-01-31T12:00:00Z` or epoch milliseconds. */
function timeParam(req: Request, name: string): number | undefined {
  const v = req.query[name];
  if (v === undefined || v === '') return undefined;
  const s = String(v);
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(t)) throw new BadRequestError(`${name} must be an ISO 8601 date/time or epoch milliseconds, got "${s}"`);
  return t;
}

function textParam(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > 255) throw new BadRequestError(`${name} must be one value of at most 255 characters`);
  return v;
}

/** The filter of GET /api/audit from its query (the web UI's audit page reads the same one). */
export function auditFilter(req: Request): AuditFilter {
  const outcome = textParam(req, 'outcome');
  if (outcome && !AUDIT_OUTCOMES.includes(outcome)) throw new BadRequestError(`outcome is ok, denied, refused or error, got "${outcome}"`);
  return {
    provider: textParam(req, 'provider'),
    repo: textParam(req, 'repo'),
    actor: textParam(req, 'actor'),
    action: textParam(req, 'action'),
    outcome,
    since: timeParam(req, 'since'),
    until: timeParam(req, 'until'),
  };
}

export const AUDIT_OUTCOMES = ['ok', 'denied', 'refused', 'error'];

export function opsRouter(s: Services): Router {
  const r = express.Router();
  r.use(express.json({ limit: '64kb' }));
  const admin = (req: Request) => TokenService.require(req.principal, 'admin');

  r.post('/webhooks', async (req, res) => {
    admin(req);
    const { view, secret } = await s.webhooks.create(parseBody(createBody, req.body, 'webhook'));
    // A generated secret is shown here once; a given one is never echoed.
    res.status(201).json({ ...view, ...(secret ? { secret } : {}) });
  });

  r.get('/webhooks', async (req, res) => {
    admin(req);
    res.json({ webhooks: await s.webhooks.list() });
  });

  r.get('/webhooks/:id', async (req, res) => {
    admin(req);
    res.json(await s.webhooks.get(positiveId(req.params.id, 'webhook id')));
  });

  r.patch('/webhooks/:id', async (req, res) => {
    admin(req);
    const id = positiveId(req.params.id, 'webhook id');
    res.json(await s.webhooks.update(id, parseBody(updateBody, req.body, 'webhook change')));
  });

  r.delete('/webhooks/:id', async (req, res) => {
    admin(req);
    const id = positiveId(req.params.id, 'webhook id');
    await s.webhooks.remove(id);
    res.json({ deleted: id });
  });

  r.post('/webhooks/:id/test', async (req, res) => {
    admin(req);
    res.status(202).json(await s.webhooks.ping(positiveId(req.params.id, 'webhook id')));
  });

  r.get('/webhooks/:id/deliveries', async (req, res) => {
    admin(req);
    const status = textParam(req, 'status');
    if (status && !['pending', 'delivered', 'failed'].includes(status)) throw new BadRequestError(`status is pending, delivered or failed, got "${status}"`);
    const { limit, offset } = page(req);
    res.json({ limit, offset, ...(await s.webhooks.deliveries(positiveId(req.params.id, 'webhook id'), { limit, offset }, status)) });
  });

  r.post('/webhooks/:id/deliveries/:delivery/redeliver', async (req, res) => {
    admin(req);
    res.status(202).json(await s.webhooks.redeliver(positiveId(req.params.id, 'webhook id'), positiveId(req.params.delivery, 'delivery id')));
  });

  r.get('/audit', async (req, res) => {
    admin(req);
    const { limit, offset } = page(req);
    res.json({ limit, offset, ...(await s.audit.list(auditFilter(req), { limit, offset })) });
  });

  return r;
}
