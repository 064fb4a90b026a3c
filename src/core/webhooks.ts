/**
 * Webhook subscriptions (admin API) and their delivery records. The secret is the HMAC key
 * of every delivery: sealed with MASTER_KEY at rest like signing keys, and never returned by
 * the API after it was set (a generated one is shown once, in the create response).
 */
import crypto from 'node:crypto';
import { In } from 'typeorm';
import type { Database } from '../db/database';
import { DeliveryEntity, EventEntity, WebhookEntity, type DeliveryRow, type WebhookRow } from '../db/ops-entities';
import { BadRequestError, NotFoundError } from './errors';
import { EVENT_TYPES, type EventPayload, type Events } from './events';
import { openPrivateKey, sealPrivateKey } from './keys/at-rest';

export interface WebhookView {
  id: number;
  url: string;
  events: string[];
  repoPattern: string;
  active: boolean;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookInput {
  url?: string;
  secret?: string;
  events?: string[];
  repoPattern?: string;
  active?: boolean;
  description?: string;
}

export interface DeliveryView {
  id: number;
  webhookId: number;
  eventId: number;
  event: string;
  status: string;
  attempts: number;
  responseCode: number | null;
  durationMs: number | null;
  error: string | null;
  createdAt: string;
  nextAttemptAt: string | null;
  finishedAt: string | null;
}

const iso = (n: number | null) => (n === null ? null : new Date(n).toISOString());

export function webhookView(w: WebhookRow): WebhookView {
  return { id: w.id, url: w.url, events: w.events.split(','), repoPattern: w.repoPattern, active: w.active, description: w.description, createdAt: iso(w.createdAt)!, updatedAt: iso(w.updatedAt)! };
}

export function deliveryView(d: DeliveryRow): DeliveryView {
  return {
    id: d.id, webhookId: d.webhookId, eventId: d.eventId, event: d.eventType, status: d.status, attempts: d.attempts,
    responseCode: d.responseCode, durationMs: d.durationMs, error: d.lastError, createdAt: iso(d.createdAt)!,
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null, finishedAt: iso(d.finishedAt),
  };
}

/** Same glob as token patterns (src/core/tokens.ts): repository-name characters and `*`. */
export function repoPatternMatches(pattern: string, repoName: string): boolean {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(repoName);
}

export function subscribes(w: Pick<WebhookRow, 'events' | 'repoPattern' | 'active'>, type: string, repoName: string | null): boolean {
  if (!w.active) return false;
  const events = w.events.split(',');
  if (!events.includes('*') && !events.includes(type)) return false;
  // Events without a repository (none yet) go to every subscriber of their type.
  return repoName === null || repoPatternMatches(w.repoPattern, repoName);
}

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`, the X-Artifactd-Signature header. */
export function signBody(secret: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

function checkInput(input: WebhookInput, creating: boolean): void {
  if (creating && !input.url) throw new BadRequestError('a webhook needs a "url"');
  if (input.url !== undefined) {
    let u: URL;
    try {
      u = new URL(input.url);
    } catch {
      throw new BadRequestError(`webhook url "${input.url}" is not an absolute URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadRequestError(`webhook url must be http:// or https://, got ${u.protocol}`);
  }
  for (const e of input.events ?? []) {
    if (e !== '*' && !(EVENT_TYPES as readonly string[]).includes(e)) throw new BadRequestError(`unknown event type "${e}"; known: ${EVENT_TYPES.join(', ')} (or "*")`);
  }
  if (input.events && input.events.length === 0) throw new BadRequestError('"events" must name at least one event type (or "*")');
  if (input.repoPattern !== undefined && !/^[A-Za-z0-9._+*-]{1,255}$/.test(input.repoPattern)) throw new BadRequestError('repoPattern: repository name characters and "*"');
}

export class WebhookService {
  constructor(
    private readonly db: Database,
    private readonly masterKey: string | undefined,
    private readonly events: Events,
  ) {}

  async create(input: WebhookInput): Promise<{ view: WebhookView; secret?: string }> {
    checkInput(input, true);
    const generated = input.secret === undefined ? `whsec_${crypto.randomBytes(24).toString('base64url')}` : undefined;
    const now = Date.now();
    const res = await this.db.write((m) =>
      m.getRepository(WebhookEntity).insert({
        url: input.url!, secret: sealPrivateKey(input.secret ?? generated!, this.masterKey), events: [...new Set(input.events ?? ['*'])].join(','),
        repoPattern: input.repoPattern ?? '*', active: input.active ?? true, description: input.description ?? '', createdAt: now, updatedAt: now,
      }),
    );
    return { view: webhookView(await this.row(Number(res.identifiers[0].id))), ...(generated ? { secret: generated } : {}) };
  }

  async list(): Promise<WebhookView[]> {
    return (await this.db.manager.getRepository(WebhookEntity).find({ order: { id: 'ASC' } })).map(webhookView);
  }

  async get(id: number): Promise<WebhookView> {
    return webhookView(await this.row(id));
  }

  async update(id: number, input: WebhookInput): Promise<WebhookView> {
    await this.row(id);
    checkInput(input, false);
    const patch: Partial<WebhookRow> = { updatedAt: Date.now() };
    if (input.url !== undefined) patch.url = input.url;
    if (input.secret !== undefined) patch.secret = sealPrivateKey(input.secret, this.masterKey);
    if (input.events !== undefined) patch.events = [...new Set(input.events)].join(',');
    if (input.repoPattern !== undefined) patch.repoPattern = input.repoPattern;
    if (input.active !== undefined) patch.active = input.active;
    if (input.description !== undefined) patch.description = input.description;
    await this.db.write((m) => m.getRepository(WebhookEntity).update({ id }, patch));
    return this.get(id);
  }

  /** Deletes the webhook and its delivery records (nothing more is sent to it). */
  async remove(id: number): Promise<void> {
    await this.row(id);
    await this.db.write(async (m) => {
      await m.getRepository(DeliveryEntity).delete({ webhookId: id });
      await m.getRepository(WebhookEntity).delete({ id });
    });
  }

  /** The secret in clear, for signing (the dispatcher only). */
  async secretOf(id: number): Promise<string> {
    return openPrivateKey((await this.row(id)).secret, this.masterKey);
  }

  async deliveries(id: number, page: { limit: number; offset: number }, status?: string): Promise<{ total: number; deliveries: DeliveryView[] }> {
    await this.row(id);
    const where = status ? { webhookId: id, status: status as DeliveryRow['status'] } : { webhookId: id };
    const [rows, total] = await this.db.manager.getRepository(DeliveryEntity).findAndCount({ where, order: { id: 'DESC' }, take: page.limit, skip: page.offset });
    return { total, deliveries: rows.map(deliveryView) };
  }

  /** Send one delivery again (whatever its state): pending now, with a fresh retry window. */
  async redeliver(webhookId: number, deliveryId: number): Promise<DeliveryView> {
    const repo = this.db.manager.getRepository(DeliveryEntity);
    const d = await repo.findOne({ where: { id: deliveryId, webhookId } });
    if (!d) throw new NotFoundError(`webhook ${webhookId} has no delivery ${deliveryId}`);
    const now = Date.now();
    await this.db.write((m) => m.getRepository(DeliveryEntity).update({ id: d.id }, { status: 'pending', nextAttemptAt: now, createdAt: now, claimedBy: null, claimedUntil: null, finishedAt: null }));
    this.events.wake();
    return deliveryView(await repo.findOneByOrFail({ id: d.id }));
  }

  /** A `ping` event to this webhook alone (active or not): checks URL, secret and receiver. */
  async ping(id: number): Promise<DeliveryView> {
    const w = await this.row(id);
    const payload: EventPayload = { ...this.events.payload('ping', null), details: { webhookId: w.id, url: w.url } };
    const now = Date.now();
    const deliveryId = await this.db.write(async (m) => {
      const ev = await m.getRepository(EventEntity).insert({ type: 'ping', repoId: null, repoName: null, payload: JSON.stringify(payload), state: 'dispatched', waitTargets: null, createdAt: now });
      const d = await m.getRepository(DeliveryEntity).insert(newDelivery(w.id, Number(ev.identifiers[0].id), 'ping', now));
      return Number(d.identifiers[0].id);
    });
    this.events.wake();
    return deliveryView(await this.db.manager.getRepository(DeliveryEntity).findOneByOrFail({ id: deliveryId }));
  }

  async activeWebhooks(): Promise<WebhookRow[]> {
    return this.db.manager.getRepository(WebhookEntity).find({ where: { active: true }, order: { id: 'ASC' } });
  }

  async byIds(ids: number[]): Promise<Map<number, WebhookRow>> {
    if (ids.length === 0) return new Map();
    return new Map((await this.db.manager.getRepository(WebhookEntity).find({ where: { id: In(ids) } })).map((w) => [w.id, w]));
  }

  private async row(id: number): Promise<WebhookRow> {
    const row = await this.db.manager.getRepository(WebhookEntity).findOneBy({ id });
    if (!row) throw new NotFoundError(`no webhook with id ${id}`);
    return row;
  }
}

export function newDelivery(webhookId: number, eventId: number, eventType: string, now: number): Omit<DeliveryRow, 'id'> {
  return {
    webhookId, eventId, eventType, status: 'pending', attempts: 0, nextAttemptAt: now, claimedBy: null, claimedUntil: null,
    responseCode: null, durationMs: null, lastError: null, createdAt: now, finishedAt: null,
  };
}
