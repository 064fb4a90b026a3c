/**
 * The whole configuration: one zod schema, parsed once at boot from the environment
 * (and optionally a JSON file named by CONFIG_FILE), then frozen and passed down.
 * A bad value stops the boot with a message listing every bad variable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { providers } from '../core/provider-registry';
import type { ProviderDefaults } from '../core/settings';

const byteSize = z
  .string()
  .regex(/^\d+(\.\d+)?\s*([kmgt]i?b?)?$/i, 'a byte size such as 1073741824, 512MiB or 4GiB')
  .transform((s) => {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt])?/i.exec(s)!;
    const mult = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 1;
    return Math.floor(Number(m[1]) * mult);
  });

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  BASE_URL: z
    .url({ message: 'an absolute http(s) URL such as https://packages.example.com' })
    .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  DATABASE_URL: z
    .string()
    .refine((u) => /^(sqlite:|mysql:\/\/|mariadb:\/\/|postgres:\/\/|postgresql:\/\/)/.test(u), 'sqlite:<path>, mysql://user:pass@host:port/db or postgres://user:pass@host:port/db')
    // A server URL must parse (a password with '@' or '/' must be percent-encoded) and name the
    // database: pg would otherwise silently use the user name as the database name.
    .refine((u) => !/^(mysql|mariadb|postgres|postgresql):\/\//.test(u) || (URL.canParse(u) && new URL(u).pathname.length > 1), 'a URL with the database name: mysql://user:pass@host:3306/db, postgres://user:pass@host:5432/db (percent-encode special characters)')
    .optional(),
  S3_URL: z
    .url()
    .refine((u) => /^https?:\/\/[^/]+\/[^/]{3,}/.test(u), 'http(s)://<key>:<secret>@<endpoint>/<bucket> (bucket of 3+ characters)')
    .optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_REDIRECT: z.enum(['off', 'presigned']).default('off'),
  ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  MAX_UPLOAD_SIZE: byteSize.default(4 * 2 ** 30),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** How many index generations per scope stay readable (apt by-hash, in-flight clients). */
  KEEP_GENERATIONS: z.coerce.number().int().min(2).max(100).default(5),
  /** ...and every generation younger than this many seconds (clients mid-update during bursts). */
  KEEP_GENERATIONS_SECONDS: z.coerce.number().int().min(0).max(86_400).default(600),
  /** Encrypts private signing keys at rest (AES-256-GCM, key derived with scrypt). */
  MASTER_KEY: z.string().min(16, 'at least 16 characters').optional(),
  /** Anonymous reads of repositories (false: every read needs a read token). */
  PUBLIC_READ: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** A request's headers must have arrived within this many seconds (slowloris header trickles). */
  HEADERS_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),
  /** A request (headers and body) must have arrived within this many seconds; 0 = no limit. */
  REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(0).max(7 * 86_400).default(21_600),
  /** A request body that sends nothing for this many seconds is cut with 408. */
  BODY_IDLE_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(3600).default(60),
  /** Seconds between background sweeps that finish publishes interrupted by a crash. */
  PUBLISH_SWEEP_SECONDS: z.coerce.number().min(1).default(10),
  /** Rebuild every memoized run of entries and compare (src/core/run-memo.ts): a check for tests, costs what the memo saves. */
  PUBLISH_MEMO_VERIFY: z.enum(['0', '1']).default('0'),
  /** Webhooks (src/core/webhook-dispatcher.ts): per-request timeout, first retry delay (doubles), give-up time, queue poll. */
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(300).default(10),
  WEBHOOK_RETRY_SECONDS: z.coerce.number().min(0.05).max(3600).default(10),
  WEBHOOK_GIVE_UP_SECONDS: z.coerce.number().min(1).max(30 * 86_400).default(86_400),
  WEBHOOK_POLL_SECONDS: z.coerce.number().min(0.05).max(300).default(2),
  /** Audit entries older than this are pruned (0: keep forever). */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(365),
  /** The GET path's in-memory copies (src/core/read-cache.ts) are checked against the database at most this often: how late another instance's changes may show. */
  READ_CACHE_CHECK_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** Small GETs of index and cached package files answered ahead of Express (src/http/fast-path.ts); off: Express answers everything. */
  FAST_PATH: z.enum(['on', 'off']).default('on'),
  /** Download counts are kept in memory and written in one batch this often. */
  DOWNLOAD_FLUSH_SECONDS: z.coerce.number().min(0.05).max(300).default(5),
  /** How often the repositories' retention rules run (0: only on upload and `rpcli clean`). */
  RETENTION_INTERVAL_SECONDS: z.coerce.number().min(0).max(30 * 86_400).default(3600),
  /** Static publishing (src/core/static-publish/): write every published repository as plain files to this directory... */
  STATIC_PUBLISH_DIR: z.string().min(1).optional(),
  /** ...and/or to this bucket: http(s)://<key>:<secret>@<endpoint>/<bucket>[/<prefix>] (the S3_URL form, plus an optional prefix). */
  STATIC_PUBLISH_S3_URL: z
    .url()
    .refine((u) => /^https?:\/\/[^/]+\/[^/]{3,}/.test(u), 'http(s)://<key>:<secret>@<endpoint>/<bucket>[/<prefix>] (bucket of 3+ characters)')
    .optional(),
  /** Also publish private repositories statically (the static copy has no access control). */
  STATIC_PUBLISH_PRIVATE: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** A repository's static syncs start at least this many seconds apart (bursts coalesce; fewer mismatched file/signature pairs). */
  STATIC_PUBLISH_INTERVAL_SECONDS: z.coerce.number().min(0).max(3600).default(1),
  /** Seconds between static sweeps: repairs of the targets and deletions whose retention window has passed. */
  STATIC_PUBLISH_SWEEP_SECONDS: z.coerce.number().min(0.1).max(86_400).default(60),
  /** GET /metrics: public, admin (an admin token; anonymous scrapes get 401) or off (404). */
  METRICS: z.enum(['public', 'admin', 'off']).default('admin'),
});

/**
 * Server-wide defaults of repository settings that providers declare (`Provider.settings.env`,
 * e.g. the architectures a format serves): variable name -> where its value goes.
 */
const providerEnv = providers.flatMap((p) => (p.settings.env ?? []).map((e) => ({ provider: p.name, ...e })));

export type Config = Readonly<z.output<typeof configSchema>> & {
  readonly dataDir: string;
  readonly databaseUrl: string;
  /** Per provider, the settings every repository of it has unless its own settings say otherwise. */
  readonly providerDefaults: ProviderDefaults;
};

/** Every variable the configuration reads (the core's and the providers'). */
export const configVariables: readonly string[] = [...Object.keys(configSchema.shape), ...providerEnv.map((e) => e.variable)];

export class ConfigError extends Error {}

/** Parse env (plus CONFIG_FILE JSON, env wins). Throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let fileValues: Record<string, string> = {};
  if (env.CONFIG_FILE) {
    try {
      const raw = JSON.parse(fs.readFileSync(env.CONFIG_FILE, 'utf8')) as Record<string, unknown>;
      fileValues = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
    } catch (e) {
      throw new ConfigError(`CONFIG_FILE ${env.CONFIG_FILE}: ${(e as Error).message}`);
    }
  }
  const input: Record<string, string | undefined> = { ...fileValues };
  for (const key of configVariables) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const parsed = configSchema.safeParse(input);
  const issues = parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.') || '(config)'}: ${i.message}`);
  const providerDefaults: Record<string, Record<string, unknown>> = {};
  for (const e of providerEnv) {
    const r = e.schema.safeParse(input[e.variable] ?? e.default);
    if (r.success) (providerDefaults[e.provider] ??= {})[e.setting] = r.data;
    else issues.push(...r.error.issues.map((i) => `  ${e.variable}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`));
  }
  if (!parsed.success || issues.length) throw new ConfigError(`invalid configuration:\n${issues.join('\n')}`);
  const dataDir = path.resolve(parsed.data.DATA_DIR);
  const databaseUrl = parsed.data.DATABASE_URL ?? `sqlite:${path.join(dataDir, 'artifactd.sqlite')}`;
  return Object.freeze({ ...parsed.data, dataDir, databaseUrl, providerDefaults });
}
