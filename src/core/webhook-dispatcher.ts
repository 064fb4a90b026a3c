/**
 * The background loop that sends webhook deliveries. Every step is a database state change,
 * so several instances (and a restarted one) share the queue:
 * 1. held events whose index scopes are published become `ready` (src/core/events.ts);
 * 2. a ready event is fanned out into one delivery per subscribed webhook: the instance
 *    whose `UPDATE ... SET state='dispatched' WHERE state='ready'` changes the row does it,
 *    in the same transaction (and (webhook_id, event_id) is unique), so exactly once;
 * 3. a due delivery is claimed with `UPDATE ... SET claimed_by=me, claimed_until=lease WHERE
 *    claimed_until IS NULL OR claimed_until < now`, then POSTed. A 2xx marks it delivered;
 *    a timeout, connection error or other status schedules a retry with exponential backoff
 *    until WEBHOOK_GIVE_UP_SECONDS after it was queued, then it is `failed`.
 * A process killed mid-request leaves its claim to expire (the lease), and the delivery is
 * sent again: delivery is at least once, exactly once unless a crash hits between the
 * receiver's answer and our record of it; receivers de-duplicate on X-Artifactd-Delivery.
 * Uploads never wait for any of this: they only insert rows.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { In } from 'typeorm';
import type { Database } from '../db/database';
import { isUniqueViolation } from '../db/database';
import { DeliveryEntity, EventEntity, type DeliveryRow } from '../db/ops-entities';
import type { Logger } from '../util/logger';
import type { Events } from './events';
import { newDelivery, signBody, subscribes, type WebhookService } from './webhooks';

export interface DispatcherOptions {
  pollSeconds: number;
  timeoutSeconds: number;
  /** First retry delay; doubles each attempt (capped at one hour). */
  retrySeconds: number;
  /** No retry is scheduled later than this after the delivery was queued. */
  giveUpSeconds: number;
}

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed';

export class WebhookDispatcher {
  private readonly instance = `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private readonly abort = new AbortController();
  /** One sender per webhook at a time; a slow receiver only ever holds up its own queue. */
  private readonly busy = new Map<number, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly events: Events,
    private readonly webhooks: WebhookService,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions,
    private readonly onOutcome: (outcome: DeliveryOutcome, durationMs: number) => void = () => undefined,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Run a pass soon (after an event was written). Passes never overlap in one process. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.running?.catch(() => undefined);
    await Promise.all(this.busy.values());
  }

  /** One pass over the queue (tests and `wake` call it; the timer repeats it). */
  async runOnce(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.events.releasePublished();
        await this.fanOut();
        await this.sendDue();
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = null));
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.runOnce()
        .catch((e) => this.log.error('webhook dispatcher pass failed', { error: String(e) }))
        .finally(() => this.schedule(this.opts.pollSeconds * 1000));
    }, ms);
    this.timer.unref();
  }

  private async fanOut(): Promise<void> {
    const ready = await this.db.manager.getRepository(EventEntity).find({ where: { state: 'ready' }, order: { id: 'ASC' }, take: 200, select: { id: true, type: true, repoName: true } });
    if (ready.length === 0) return;
    const hooks = await this.webhooks.activeWebhooks();
    for (const e of ready) {
      const targets = hooks.filter((w) => subscribes(w, e.type, e.repoName));
      try {
        await this.db.write(async (m) => {
          const res = await m.getRepository(EventEntity).createQueryBuilder().update().set({ state: 'dispatched' }).where("id = :id AND state = 'ready'", { id: e.id }).execute();
          if (res.affected !== 1) return; // another instance took it
          const now = Date.now();
          if (targets.length) await m.getRepository(DeliveryEntity).insert(targets.map((w) => newDelivery(w.id, e.id, e.type, now)));
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
  }

  private async sendDue(): Promise<void> {
    const now = Date.now();
    const qb = this.db.manager
      .getRepository(DeliveryEntity)
      .createQueryBuilder('d')
      .where("d.status = 'pending' AND d.next_attempt_at <= :now AND (d.claimed_until IS NULL OR d.claimed_until < :now)", { now });
    if (this.busy.size) qb.andWhere('d.webhook_id NOT IN (:...busy)', { busy: [...this.busy.keys()] });
    const due = await qb.orderBy('d.id', 'ASC').limit(100).getMany();
    if (due.length === 0) return;
    const byHook = new Map<number, DeliveryRow[]>();
    for (const d of due) (byHook.get(d.webhookId) ?? byHook.set(d.webhookId, []).get(d.webhookId)!).push(d);
    const payloads = new Map((await this.db.manager.getRepository(EventEntity).find({ where: { id: In([...new Set(due.map((d) => d.eventId))]) }, select: { id: true, payload: true } })).map((e) => [e.id, e.payload]));
    // One webhook's deliveries go one after another, oldest first (receivers see events in
    // order while they answer 2xx); different webhooks are served in parallel, and the pass
    // does not wait for them: a stalled receiver holds up nobody else's deliveries.
    for (const [webhookId, list] of byHook) {
      const worker = (async () => {
        for (const d of list) {
          if (this.stopped) return;
          await this.deliver(webhookId, d, payloads.get(d.eventId));
        }
      })()
        .catch((e) => this.log.error('webhook delivery crashed', { webhook: webhookId, error: String(e) }))
        .finally(() => {
          this.busy.delete(webhookId);
          this.wake();
        });
      this.busy.set(webhookId, worker);
    }
  }

  private async deliver(webhookId: number, d: DeliveryRow, payload: string | undefined): Promise<void> {
    // The request is aborted after timeoutSeconds, so a claim older than twice that (plus slack
    // for the bookkeeping writes) belongs to a process that died: another may send it again.
    const leaseMs = (this.opts.timeoutSeconds * 2 + 5) * 1000;
    const now = Date.now();
    const claim = await this.db.write((m) =>
      m
        .getRepository(DeliveryEntity)
        .createQueryBuilder()
        .update()
        .set({ claimedBy: this.instance, claimedUntil: now + leaseMs })
        .where("id = :id AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < :now)", { id: d.id, now })
        .execute(),
    );
    if (claim.affected !== 1) return;
    const hook = (await this.webhooks.byIds([webhookId])).get(webhookId);
    if (!hook || payload === undefined) {
      await this.finish(d, { status: 'failed', lastError: hook ? 'the event is gone' : 'the webhook is gone' });
      return;
    }
    // The event id goes first in the body; the body is the same bytes on every attempt.
    const body = JSON.stringify({ id: d.eventId, ...(JSON.parse(payload) as object) });
    const secret = await this.webhooks.secretOf(webhookId);
    const started = Date.now();
    let code: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'artifactd-webhook/1',
          'X-Artifactd-Event': d.eventType,
          'X-Artifactd-Delivery': String(d.id),
          'X-Artifactd-Signature': signBody(secret, body),
        },
        signal: AbortSignal.any([AbortSignal.timeout(this.opts.timeoutSeconds * 1000), this.abort.signal]),
      });
      code = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (code < 200 || code > 299) error = `receiver answered ${code}`;
    } catch (e) {
      if (this.abort.signal.aborted) {
        // Shutting down: give the claim back without counting an attempt.
        await this.db.write((m) => m.getRepository(DeliveryEntity).update({ id: d.id, claimedBy: this.instance }, { claimedBy: null, claimedUntil: null }));
        return;
      }
      const err = e as Error & { cause?: { code?: string; message?: string } };
      error = err.name === 'TimeoutError' ? `timed out after ${this.opts.timeoutSeconds}s` : `${err.cause?.code ?? err.name}: ${err.cause?.message ?? err.message}`;
    }
    const durationMs = Date.now() - started;
    const attempts = d.attempts + 1;
    if (error === null) {
      await this.finish(d, { status: 'delivered', attempts, responseCode: code, durationMs, lastError: null });
      this.onOutcome('delivered', durationMs);
      return;
    }
    const delay = Math.min(this.opts.retrySeconds * 1000 * 2 ** (attempts - 1), 3_600_000) * (0.9 + Math.random() * 0.2);
    const giveUp = Date.now() + delay > d.createdAt + this.opts.giveUpSeconds * 1000;
    if (giveUp) {
      await this.finish(d, { status: 'failed', attempts, responseCode: code, durationMs, lastError: error.slice(0, 1000) });
      this.log.warn('webhook delivery failed for good', { webhook: webhookId, delivery: d.id, event: d.eventType, attempts, error });
    } else {
      await this.db.write((m) =>
        m.getRepository(DeliveryEntity).update(
          { id: d.id, claimedBy: this.instance },
          { attempts, responseCode: code, durationMs, lastError: error!.slice(0, 1000), nextAttemptAt: Date.now() + Math.round(delay), claimedBy: null, claimedUntil: null },
        ),
      );
    }
    this.onOutcome(giveUp ? 'failed' : 'retry', durationMs);
  }

  private async finish(d: DeliveryRow, patch: Partial<DeliveryRow>): Promise<void> {
    await this.db.write((m) => m.getRepository(DeliveryEntity).update({ id: d.id, claimedBy: this.instance }, { ...patch, finishedAt: Date.now(), claimedBy: null, claimedUntil: null }));
  }
}
