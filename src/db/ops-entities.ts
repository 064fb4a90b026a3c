/**
 * Tables of the operations features (migrations/1765100000000-Operations.ts): webhooks, the
 * event outbox, webhook deliveries, the audit log and per-day download counts.
 */
import { EntitySchema } from 'typeorm';

const bigNumber = { to: (v: number | null) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) };
const boolean = { to: (v: boolean) => (v ? 1 : 0), from: (v: number | boolean | string) => v === true || v === 1 || v === '1' };

export interface WebhookRow {
  id: number;
  url: string;
  /** The HMAC secret, sealed with MASTER_KEY when it is set (src/core/keys/at-rest.ts). */
  secret: string;
  /** Comma-separated event types, or `*`. */
  events: string;
  /** Glob over repository names, like token patterns. */
  repoPattern: string;
  active: boolean;
  description: string;
  createdAt: number;
  updatedAt: number;
}

export const WebhookEntity = new EntitySchema<WebhookRow>({
  name: 'Webhook',
  tableName: 'webhooks',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    url: { type: String, length: 2048 },
    secret: { type: 'text' },
    events: { type: String, length: 1024 },
    repoPattern: { name: 'repo_pattern', type: String, length: 255 },
    active: { type: 'integer', transformer: boolean },
    description: { type: String, length: 255 },
    createdAt: { name: 'created_at', type: 'bigint', transformer: bigNumber },
    updatedAt: { name: 'updated_at', type: 'bigint', transformer: bigNumber },
  },
});

export type EventState = 'held' | 'ready' | 'dispatched';

export interface EventRow {
  id: number;
  type: string;
  repoId: number | null;
  repoName: string | null;
  /** The JSON body every webhook gets (without the delivery id, which is a header). */
  payload: string;
  state: EventState;
  /** JSON [[repoId, scope, seq], ...]: a held event is released once every scope published its seq. */
  waitTargets: string | null;
  createdAt: number;
}

export const EventEntity = new EntitySchema<EventRow>({
  name: 'Event',
  tableName: 'events',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    type: { type: String, length: 64 },
    repoId: { name: 'repo_id', type: Number, nullable: true },
    repoName: { name: 'repo_name', type: String, length: 128, nullable: true },
    payload: { type: 'text' },
    state: { type: String, length: 16 },
    waitTargets: { name: 'wait_targets', type: 'text', nullable: true },
    createdAt: { name: 'created_at', type: 'bigint', transformer: bigNumber },
  },
});

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRow {
  id: number;
  webhookId: number;
  eventId: number;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  claimedBy: string | null;
  claimedUntil: number | null;
  responseCode: number | null;
  durationMs: number | null;
  lastError: string | null;
  createdAt: number;
  finishedAt: number | null;
}

export const DeliveryEntity = new EntitySchema<DeliveryRow>({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    webhookId: { name: 'webhook_id', type: Number },
    eventId: { name: 'event_id', type: Number },
    eventType: { name: 'event_type', type: String, length: 64 },
    status: { type: String, length: 16 },
    attempts: { type: Number },
    nextAttemptAt: { name: 'next_attempt_at', type: 'bigint', transformer: bigNumber },
    claimedBy: { name: 'claimed_by', type: String, length: 64, nullable: true },
    claimedUntil: { name: 'claimed_until', type: 'bigint', nullable: true, transformer: bigNumber },
    responseCode: { name: 'response_code', type: Number, nullable: true },
    durationMs: { name: 'duration_ms', type: Number, nullable: true },
    lastError: { name: 'last_error', type: String, length: 1024, nullable: true },
    createdAt: { name: 'created_at', type: 'bigint', transformer: bigNumber },
    finishedAt: { name: 'finished_at', type: 'bigint', nullable: true, transformer: bigNumber },
  },
});

export interface AuditRow {
  id: number;
  at: number;
  /** Token id; null for ADMIN_TOKEN, anonymous callers and the server itself. */
  actorId: number | null;
  /** Token name, `anonymous`, or `system` (scheduled retention). */
  actorName: string;
  clientIp: string;
  action: string;
  provider: string | null;
  repo: string | null;
  target: string;
  /** ok | denied (401/403) | refused (other 4xx) | error (5xx) */
  outcome: string;
  status: number;
  detail: string | null;
}

export const AuditEntity = new EntitySchema<AuditRow>({
  name: 'Audit',
  tableName: 'audit_log',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    at: { type: 'bigint', transformer: bigNumber },
    actorId: { name: 'actor_id', type: Number, nullable: true },
    actorName: { name: 'actor_name', type: String, length: 128 },
    clientIp: { name: 'client_ip', type: String, length: 64 },
    action: { type: String, length: 64 },
    provider: { type: String, length: 32, nullable: true },
    repo: { type: String, length: 128, nullable: true },
    target: { type: String, length: 512 },
    outcome: { type: String, length: 16 },
    status: { type: Number },
    detail: { type: String, length: 1024, nullable: true },
  },
});

export interface DownloadDayRow {
  id: number;
  repoId: number;
  nameKey: string;
  /** Days since 1970-01-01 (UTC). */
  day: number;
  downloads: number;
}

export const DownloadDayEntity = new EntitySchema<DownloadDayRow>({
  name: 'DownloadDay',
  tableName: 'download_days',
  columns: {
    id: { type: Number, primary: true, generated: 'increment' },
    repoId: { name: 'repo_id', type: Number },
    nameKey: { name: 'name_key', type: String, length: 255 },
    day: { type: Number },
    downloads: { type: 'bigint', transformer: bigNumber },
  },
});

export const opsEntities = [WebhookEntity, EventEntity, DeliveryEntity, AuditEntity, DownloadDayEntity];
