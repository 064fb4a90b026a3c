/** `rpcli repo create|show`: remote (pull-through cache) and virtual repositories (issue 14). */
import { intOption } from '../args';
import { arg, noMoreArgs, resolveRepo, type Command } from '../context';
import { usageError } from '../errors';
import { repoPath } from '../http';
import { humanSize } from '../progress';

interface RepoView {
  provider: string;
  name: string;
  type: string;
  upstream?: string;
  remote?: { metadataTtl: number; offline: boolean; cacheMaxBytes: number | null; timeoutSeconds: number; auth: { type: string; username?: string } | null };
  cache?: { files: number; size: number; indexFiles: number; hits: number; misses: number };
  members?: string[];
  mergeRemoteProjects?: boolean;
  packages?: number;
  files?: number;
  size?: number;
}

export const repoCommand: Command = {
  name: 'repo',
  summary: 'create a remote or virtual repository, or show a repository and its kind',
  usage: `rpcli repo create -y <provider> -r <name> --remote <upstream-url> [--ttl SECONDS] [--offline] [--cache-max BYTES]
rpcli repo create -y <provider> -r <name> --virtual <member>,<member>,... [--merge-remote]
rpcli repo show -r <name> [-y <provider>]

A remote repository is a pull-through cache of its upstream (PyPI: a simple index root such
as https://pypi.org/simple/; apt: an archive root). A virtual repository serves its members,
in order, behind one URL; for PyPI a hosted member's project hides every remote member's
project of the same name unless --merge-remote (dependency-confusion safety); for apt, pacman,
apk and rpm it publishes one merged index of its hosted members, signed with its own key (the
first member wins a name+version+arch clash). Hosted repositories are created by their first
upload. Admin token needed for create.

Examples:
  rpcli repo create -y pypi -r pypi-proxy --remote https://pypi.org/simple/
  rpcli repo create -y pypi -r python --virtual internal,pypi-proxy
  rpcli repo create -y apt -r all --virtual internal,thirdparty`,
  options: ['repo', 'provider', 'remote', 'virtual', 'ttl', 'offline', 'cache-max', 'merge-remote'],
  async run(ctx) {
    const sub = arg(ctx, 0, 'subcommand: create or show');
    noMoreArgs(ctx, 1);
    if (sub === 'show') {
      const { provider, repo } = await resolveRepo(ctx);
      const view = await ctx.api().json<RepoView>('GET', repoPath(provider, repo));
      if (ctx.out.json) return ctx.out.data(view);
      ctx.out.line(`${view.provider}/${view.name}: ${view.type}`);
      if (view.upstream) ctx.out.line(`upstream: ${view.upstream}`);
      if (view.remote) ctx.out.line(`metadata TTL ${view.remote.metadataTtl}s, timeout ${view.remote.timeoutSeconds}s${view.remote.offline ? ', offline' : ''}${view.remote.cacheMaxBytes ? `, cache limit ${humanSize(view.remote.cacheMaxBytes)}` : ''}${view.remote.auth ? `, ${view.remote.auth.type} auth` : ''}`);
      if (view.cache) ctx.out.line(`cache: ${view.cache.files} file(s), ${humanSize(view.cache.size)}, ${view.cache.indexFiles} index file(s); ${view.cache.hits} hit(s), ${view.cache.misses} miss(es)`);
      if (view.members) ctx.out.line(`members: ${view.members.join(', ')}${view.mergeRemoteProjects ? ' (remote projects merged)' : ''}`);
      if (view.type === 'hosted') ctx.out.line(`${view.packages ?? 0} package(s), ${view.files ?? 0} file(s), ${humanSize(view.size ?? 0)}`);
      return;
    }
    if (sub !== 'create') throw usageError(`unknown repo subcommand "${sub}": create or show`);
    const provider = ctx.values.provider;
    const name = ctx.values.repo;
    if (!provider || !name) throw usageError('repo create needs -y <provider> and -r <name>');
    const { remote, virtual } = ctx.values;
    if ((remote === undefined) === (virtual === undefined)) throw usageError('repo create needs exactly one of --remote <url> or --virtual a,b,c');
    let body: Record<string, unknown>;
    if (remote !== undefined) {
      if (ctx.values['merge-remote']) throw usageError('--merge-remote goes with --virtual');
      body = { type: 'remote', upstream: remote, offline: ctx.values.offline ?? false };
      const ttl = intOption('ttl', ctx.values.ttl);
      if (ttl !== undefined) body.metadataTtl = ttl;
      const max = intOption('cache-max', ctx.values['cache-max']);
      if (max !== undefined) body.cacheMaxBytes = max;
    } else {
      if (ctx.values.ttl !== undefined || ctx.values.offline || ctx.values['cache-max'] !== undefined) throw usageError('--ttl, --offline and --cache-max go with --remote');
      const members = virtual!.split(',').map((m) => m.trim()).filter(Boolean);
      if (members.length === 0) throw usageError('--virtual needs member names: --virtual a,b,c');
      body = { type: 'virtual', members, mergeRemoteProjects: ctx.values['merge-remote'] ?? false };
    }
    const view = await ctx.api().json<RepoView>('PUT', repoPath(provider, name), body);
    if (ctx.out.json) return ctx.out.data(view);
    ctx.out.line(view.type === 'remote' ? `${provider}/${name}: remote of ${view.upstream}` : `${provider}/${name}: virtual of ${view.members?.join(', ')}`);
  },
};
