/**
 * Command-line parsing (node:util parseArgs; no dependency). Options may come before or
 * after the command, as in the seed's `rpcli -s URL upload -y apt -f x.deb ...`; each
 * command says which of them it accepts, so a misplaced flag is an error, not ignored.
 */
import { parseArgs } from 'node:util';
import { usageError } from './errors';

export const OPTIONS = {
  server: { type: 'string', short: 's' },
  token: { type: 'string', short: 't' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'no-progress': { type: 'boolean' },
  provider: { type: 'string', short: 'y' },
  repo: { type: 'string', short: 'r' },
  file: { type: 'string', short: 'f', multiple: true },
  name: { type: 'string', short: 'p' },
  version: { type: 'string', short: 'i' },
  attr: { type: 'string', short: 'a', multiple: true },
  sig: { type: 'string' },
  'no-wait': { type: 'boolean' },
  parallel: { type: 'string' },
  output: { type: 'string', short: 'o' },
  arch: { type: 'string' },
  keep: { type: 'string' },
  'dry-run': { type: 'boolean' },
  reason: { type: 'string' },
  kind: { type: 'string' },
  retire: { type: 'boolean' },
  role: { type: 'string' },
  pattern: { type: 'string' },
  'expires-days': { type: 'string' },
  url: { type: 'string' },
  secret: { type: 'string' },
  events: { type: 'string' },
  'older-than-days': { type: 'string' },
  'downloaded-within-days': { type: 'string' },
  match: { type: 'string' },
  'delete-newest': { type: 'boolean' },
  actor: { type: 'string' },
  action: { type: 'string' },
  outcome: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  remote: { type: 'string' },
  virtual: { type: 'string' },
  ttl: { type: 'string' },
  offline: { type: 'boolean' },
  'cache-max': { type: 'string' },
  'merge-remote': { type: 'boolean' },
} as const;

export type OptionName = keyof typeof OPTIONS;

export interface Values {
  server?: string;
  token?: string;
  profile?: string;
  json?: boolean;
  help?: boolean;
  'no-progress'?: boolean;
  provider?: string;
  repo?: string;
  file?: string[];
  name?: string;
  version?: string;
  attr?: string[];
  sig?: string;
  'no-wait'?: boolean;
  parallel?: string;
  output?: string;
  arch?: string;
  keep?: string;
  'dry-run'?: boolean;
  reason?: string;
  kind?: string;
  retire?: boolean;
  role?: string;
  pattern?: string;
  'expires-days'?: string;
  url?: string;
  secret?: string;
  events?: string;
  'older-than-days'?: string;
  'downloaded-within-days'?: string;
  match?: string;
  'delete-newest'?: boolean;
  actor?: string;
  action?: string;
  outcome?: string;
  since?: string;
  until?: string;
  limit?: string;
  remote?: string;
  virtual?: string;
  ttl?: string;
  offline?: boolean;
  'cache-max'?: string;
  'merge-remote'?: boolean;
}

/** Accepted by every command. */
export const GLOBAL_OPTIONS: OptionName[] = ['server', 'token', 'profile', 'json', 'help', 'no-progress'];

export interface Parsed {
  values: Values;
  positionals: string[];
  /** Options actually given, as typed (for "not accepted by <command>" messages). */
  given: OptionName[];
}

export function parse(argv: string[]): Parsed {
  let result;
  try {
    result = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    // parseArgs' messages are already precise ("Unknown option '--x'"); drop its hints about '--'.
    throw usageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/^Unknown option/, 'unknown option'));
  }
  const given = [...new Set((result.tokens ?? []).filter((t) => t.kind === 'option').map((t) => (t as { name: string }).name as OptionName))];
  return { values: result.values as Values, positionals: result.positionals, given };
}

export function flagName(o: OptionName): string {
  const spec = OPTIONS[o] as { short?: string };
  return spec.short ? `-${spec.short}/--${o}` : `--${o}`;
}

export function checkAccepted(command: string, given: OptionName[], accepted: OptionName[]): void {
  for (const o of given) {
    if (!GLOBAL_OPTIONS.includes(o) && !accepted.includes(o)) throw usageError(`${command} does not take ${flagName(o)} (see rpcli ${command} --help)`);
  }
}

/** A positive integer option value. */
export function intOption(name: string, raw: string | undefined, min = 1): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) throw usageError(`--${name} must be an integer >= ${min}, got "${raw}"`);
  return Number(raw);
}

/** `-a key=value` pairs. */
export function keyValues(pairs: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const m = /^([A-Za-z_][\w.-]*)=(.*)$/s.exec(p);
    if (!m) throw usageError(`${flag} expects key=value (e.g. ${flag} dist=trusty), got "${p}"`);
    out[m[1]] = m[2];
  }
  return out;
}
