/** `rpcli token create|list|revoke` (needs an admin token for every repository). */
import { intOption } from '../args';
import { arg, noMoreArgs, type Command } from '../context';
import { usageError } from '../errors';
import { when } from '../output';

interface TokenView {
  id: number;
  name: string;
  role: string;
  repoPattern: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  revoked: boolean;
}

export const tokenCommand: Command = {
  name: 'token',
  summary: 'create, list or revoke API tokens (admin)',
  usage: `rpcli token create <name> --role read|write|admin [--pattern <repo glob>] [--expires-days N]
rpcli token list
rpcli token revoke <id>

The secret is printed once, alone on stdout: TOKEN=$(rpcli token create ci --role write --pattern 'app-*')`,
  options: ['role', 'pattern', 'expires-days'],
  async run(ctx) {
    const sub = arg(ctx, 0, 'subcommand: create, list or revoke');
    const api = ctx.api;
    if (sub !== 'create' && (ctx.values.role || ctx.values.pattern || ctx.values['expires-days'])) throw usageError('--role, --pattern and --expires-days go with token create');
    if (sub === 'create') {
      noMoreArgs(ctx, 2);
      const name = arg(ctx, 1, 'token name');
      const role = ctx.values.role;
      if (!role) throw usageError('token create needs --role read|write|admin');
      if (!['read', 'write', 'admin'].includes(role)) throw usageError(`--role is read, write or admin, got "${role}"`);
      const body: Record<string, unknown> = { name, role };
      if (ctx.values.pattern) body.repoPattern = ctx.values.pattern;
      const days = intOption('expires-days', ctx.values['expires-days']);
      if (days !== undefined) body.expiresInDays = days;
      const res = await api().json<TokenView & { token: string }>('POST', '/api/tokens', body);
      if (ctx.out.json) return ctx.out.data(res);
      ctx.out.line(res.token);
      ctx.out.note(`token ${res.id} "${res.name}": ${res.role} on "${res.repoPattern}"${res.expiresAt ? `, expires ${when(res.expiresAt)}` : ''}. Store it now: it is not shown again.`);
      return;
    }
    if (sub === 'list') {
      noMoreArgs(ctx, 1);
      const res = await api().json<{ tokens: TokenView[] }>('GET', '/api/tokens');
      if (ctx.out.json) return ctx.out.data(res);
      if (res.tokens.length === 0) return ctx.out.note('no tokens (besides ADMIN_TOKEN)');
      ctx.out.table([
        ['ID', 'NAME', 'ROLE', 'REPOS', 'EXPIRES', 'LAST USED', 'STATE'],
        ...res.tokens.map((t) => [String(t.id), t.name, t.role, t.repoPattern, when(t.expiresAt), when(t.lastUsedAt), t.revoked ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? 'expired' : 'active']),
      ]);
      return;
    }
    if (sub === 'revoke') {
      noMoreArgs(ctx, 2);
      const id = arg(ctx, 1, 'token id (see rpcli token list)');
      if (!/^\d+$/.test(id)) throw usageError(`token id must be a number, got "${id}"`);
      const res = await api().json<{ revoked: number }>('DELETE', `/api/tokens/${id}`);
      if (ctx.out.json) return ctx.out.data(res);
      ctx.out.line(`revoked token ${res.revoked}`);
      return;
    }
    throw usageError(`unknown token subcommand "${sub}": create, list or revoke`);
  },
};
