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

export interface PackageRef {
  name: string;
  version?: string;
}

/**
 * The package (and version) of download, delete, yank, unyank and info: `<package> [<version>]`
 * as arguments, or `-p <package>` / `-i <version>`, the flags `upload` takes (the seed's
 * syntax), or a mix. An argument keeps its place (the first is always the package), so a value
 * given both ways must agree: two different names or versions are a usage error, never a guess
 * at which one was meant (the command may be a delete).
 */
export function packageRef(ctx: Ctx, command: string, version: 'required' | 'optional' | 'none'): PackageRef {
  noMoreArgs(ctx, version === 'none' ? 1 : 2);
  const form = version === 'none' ? '<package>' : version === 'required' ? '<package> <version>' : '<package> [<version>]';
  const flags = version === 'none' ? '-p <package>' : version === 'required' ? '-p <package> -i <version>' : '-p <package> [-i <version>]';
  // `rpcli delete -p hello 1.0`: the lone argument, starting with a digit, was likely meant as the version.
  const lone = ctx.args.length === 1 ? ctx.args[0] : undefined;
  const asVersion = version !== 'none' && ctx.values.version === undefined && lone !== undefined && /^\d/.test(lone) ? ` (with -p, give the version as -i ${lone})` : '';
  const name = agreeing('package name', '-p', ctx.values.name, ctx.args[0], asVersion);
  if (name === undefined) throw usageError(`missing package name: rpcli ${command} ${form}, or ${flags}`);
  if (version === 'none') return { name };
  const v = agreeing('version', '-i', ctx.values.version, ctx.args[1], '');
  if (v === undefined && version === 'required') throw usageError(`missing version: rpcli ${command} ${form}, or ${flags}`);
  return { name, version: v };
}

function agreeing(what: string, flag: string, fromFlag: string | undefined, fromArg: string | undefined, hint: string): string | undefined {
  if (fromFlag === '') throw usageError(`${flag} needs a non-empty ${what}`);
  if (fromArg === '') throw usageError(`empty ${what} argument`);
  if (fromFlag !== undefined && fromArg !== undefined && fromFlag !== fromArg) {
    throw usageError(`${what} given twice and different: ${flag} "${fromFlag}" and argument "${fromArg}"; give it once${hint}`);
  }
  return fromFlag ?? fromArg;
}
