/** `rpcli webhook add|list|rm|test|deliveries|redeliver` and `rpcli audit` (admin). */
import { intOption } from '../args';
import { arg, noMoreArgs, type Command } from '../context';
import { usageError } from '../errors';
import { when } from '../output';

type WebhookView = import('../../core/webhooks').WebhookView;
type DeliveryView = import('../../core/webhooks').DeliveryView;
type AuditView = import('../../core/audit').AuditView;

export const webhookCommand: Command = {
  name: 'webhook',
  summary: 'add, list, remove or test webhooks; show and resend deliveries (admin)',
  usage: `rpcli webhook add --url <url> [--secret <s>] [--events a,b|*] [--pattern <repo glob>]
rpcli webhook list
rpcli webhook rm <id>
rpcli webhook test <id>                   queue a ping to this webhook
rpcli webhook deliveries <id> [--limit N]
rpcli webhook redeliver <id> <delivery-id>

Events: package.published, package.deleted, package.yanked, package.unyanked, repository.created,
repository.settings_changed, key.rotated, publish.failed (default: all).
Without --secret the server generates one and prints it once: store it, it is not shown again.
Every delivery carries X-Artifactd-Signature: sha256=<HMAC-SHA256 of the body with the secret>.`,
  options: ['url', 'secret', 'events', 'pattern', 'limit'],
  async run(ctx) {
    const sub = arg(ctx, 0, 'subcommand: add, list, rm, test, deliveries or redeliver');
    const api = ctx.api;
    if (sub !== 'add' && (ctx.values.url || ctx.values.secret || ctx.values.events || ctx.values.pattern)) throw usageError('--url, --secret, --events and --pattern go with webhook add');
    const idArg = (i: number, what = 'webhook id (see rpcli webhook list)') => {
      const id = arg(ctx, i, what);
      if (!/^\d+$/.test(id)) throw usageError(`${what.split(' (')[0]} must be a number, got "${id}"`);
      return id;
    };
    if (sub === 'add') {
      noMoreArgs(ctx, 1);
      if (!ctx.values.url) throw usageError('webhook add needs --url <http(s) URL>');
      const body: Record<string, unknown> = { url: ctx.values.url };
      if (ctx.values.secret) body.secret = ctx.values.secret;
      if (ctx.values.events) body.events = ctx.values.events.split(',').map((e) => e.trim()).filter(Boolean);
      if (ctx.values.pattern) body.repoPattern = ctx.values.pattern;
      const res = await api().json<WebhookView & { secret?: string }>('POST', '/api/webhooks', body);
      if (ctx.out.json) return ctx.out.data(res);
      if (res.secret) ctx.out.line(res.secret);
      ctx.out.note(`webhook ${res.id}: ${res.url}, events ${res.events.join(',')}, repositories "${res.repoPattern}"${res.secret ? '. The secret above is shown once: store it now.' : ''}`);
      return;
    }
    if (sub === 'list') {
      noMoreArgs(ctx, 1);
      const res = await api().json<{ webhooks: WebhookView[] }>('GET', '/api/webhooks');
      if (ctx.out.json) return ctx.out.data(res);
      if (res.webhooks.length === 0) return ctx.out.note('no webhooks');
      ctx.out.table([['ID', 'URL', 'EVENTS', 'REPOS', 'STATE'], ...res.webhooks.map((w) => [String(w.id), w.url, w.events.join(','), w.repoPattern, w.active ? 'active' : 'inactive'])]);
      return;
    }
    if (sub === 'rm') {
      noMoreArgs(ctx, 2);
      const res = await api().json<{ deleted: number }>('DELETE', `/api/webhooks/${idArg(1)}`);
      if (ctx.out.json) return ctx.out.data(res);
      return ctx.out.line(`removed webhook ${res.deleted}`);
    }
    if (sub === 'test') {
      noMoreArgs(ctx, 2);
      const res = await api().json<DeliveryView>('POST', `/api/webhooks/${idArg(1)}/test`);
      if (ctx.out.json) return ctx.out.data(res);
      return ctx.out.line(`queued ping as delivery ${res.id}; see rpcli webhook deliveries ${res.webhookId}`);
    }
    if (sub === 'deliveries') {
      noMoreArgs(ctx, 2);
      const limit = intOption('limit', ctx.values.limit) ?? 20;
      const res = await api().json<{ total: number; deliveries: DeliveryView[] }>('GET', `/api/webhooks/${idArg(1)}/deliveries?limit=${limit}`);
      if (ctx.out.json) return ctx.out.data(res);
      if (res.deliveries.length === 0) return ctx.out.note('no deliveries yet');
      ctx.out.table([
        ['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'CODE', 'MS', 'QUEUED', 'NOTE'],
        ...res.deliveries.map((d) => [String(d.id), d.event, d.status, String(d.attempts), d.responseCode === null ? '-' : String(d.responseCode), d.durationMs === null ? '-' : String(d.durationMs), when(d.createdAt), d.error ?? (d.nextAttemptAt ? `next ${when(d.nextAttemptAt)}` : '')]),
      ]);
      return;
    }
    if (sub === 'redeliver') {
      noMoreArgs(ctx, 3);
      const res = await api().json<DeliveryView>('POST', `/api/webhooks/${idArg(1)}/deliveries/${idArg(2, 'delivery id')}/redeliver`);
      if (ctx.out.json) return ctx.out.data(res);
      return ctx.out.line(`delivery ${res.id} queued again`);
    }
    throw usageError(`unknown webhook subcommand "${sub}": add, list, rm, test, deliveries or redeliver`);
  },
};

export const auditCommand: Command = {
  name: 'audit',
  summary: 'show the audit log, newest first (admin)',
  usage: `rpcli audit [-r <repo>] [-y <provider>] [--actor <token name>] [--action <a|kind.*>] [--outcome ok|denied|refused|error]
            [--since <date>] [--until <date>] [--limit N]

Example: rpcli audit --action 'package.*' --outcome refused --since 2025-01-01`,
  options: ['repo', 'provider', 'actor', 'action', 'outcome', 'since', 'until', 'limit'],
  async run(ctx) {
    noMoreArgs(ctx, 0);
    const q = new URLSearchParams();
    const v = ctx.values;
    for (const [key, value] of [['repo', v.repo], ['provider', v.provider], ['actor', v.actor], ['action', v.action], ['outcome', v.outcome], ['since', v.since], ['until', v.until]] as const) if (value) q.set(key, value);
    q.set('limit', String(intOption('limit', v.limit) ?? 50));
    const res = await ctx.api().json<{ total: number; entries: AuditView[] }>('GET', `/api/audit?${q}`);
    if (ctx.out.json) return ctx.out.data(res);
    if (res.entries.length === 0) return ctx.out.note('no audit entries match');
    ctx.out.table([
      ['TIME', 'ACTOR', 'FROM', 'ACTION', 'REPO', 'TARGET', 'OUTCOME'],
      ...res.entries.map((e) => [e.at, e.actor.name, e.clientIp || '-', e.action, e.repo ? `${e.provider ?? '?'}/${e.repo}` : '-', e.target, `${e.outcome} ${e.status}${e.detail ? `: ${e.detail}` : ''}`]),
    ]);
    if (res.total > res.entries.length) ctx.out.note(`${res.entries.length} of ${res.total} entries (--limit, --since, --until to see others)`);
  },
};
