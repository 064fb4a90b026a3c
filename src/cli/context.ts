/** What every command gets, and how repository-scoped commands find their repository. */
import type { OptionName, Values } from './args';
import { CliError, EXIT, usageError } from './errors';
import { Api } from './http';
import type { Output } from './output';

export interface Ctx {
  values: Values;
  /** Positional arguments after the command name. */
  args: string[];
  out: Output;
  /** The API client; resolving it reads flags/env/config, so `help` works without a server. */
  api(): Api;
  progress: boolean;
}

export interface Command {
  name: string;
  summary: string;
  /** Usage lines and examples shown by `rpcli <command> --help`. */
  usage: string;
  options: OptionName[];
  run(ctx: Ctx): Promise<void>;
}

export interface RepoRef {
  provider: string;
  repo: string;
}

interface RepoListing {
  repos: { provider: string; name: string }[];
}

/**
 * The repository of a repo-scoped command: `-r` (or the given positional), and `-y` for the
 * provider. Without `-y` the server's repository list decides when the name is unambiguous.
 */
export async function resolveRepo(ctx: Ctx, positional?: string): Promise<RepoRef> {
  const repo = ctx.values.repo ?? positional;
  if (!repo) throw usageError('which repository? pass -r <repo> (and -y <provider>)');
  if (ctx.values.provider) return { provider: ctx.values.provider, repo };
  const listing = await ctx.api().json<RepoListing>('GET', '/api/repos?limit=1000');
  const matches = listing.repos.filter((r) => r.name === repo);
  if (matches.length === 1) return { provider: matches[0].provider, repo };
  if (matches.length === 0) throw new CliError(`no repository named "${repo}" (that this token can see)`, EXIT.NOT_FOUND);
  throw usageError(`"${repo}" exists for several providers (${matches.map((m) => m.provider).join(', ')}): pass -y <provider>`);
}

/** Positional argument `i`, or a usage error naming it. */
export function arg(ctx: Ctx, i: number, what: string): string {
  const v = ctx.args[i];
  if (v === undefined || v === '') throw usageError(`missing ${what}`);
  return v;
}

export function noMoreArgs(ctx: Ctx, max: number): void {
  if (ctx.args.length > max) throw usageError(`unexpected argument "${ctx.args[max]}"`);
}
