/** Repository-wide operations: clean (retention), reindex, status, settings; and server-wide gc. */
import { intOption } from '../args';
import { noMoreArgs, resolveRepo, type Command } from '../context';
import { usageError } from '../errors';
import { repoPath } from '../http';
import { when } from '../output';
import { humanSize } from '../progress';

interface RemovedFile {
  name: string;
  version: string;
  arch: string;
  filename: string;
  size: number;
  reason: string;
}

export const cleanCommand: Command = {
  name: 'clean',
  summary: 'apply retention rules: delete old versions (admin)',
  usage: `rpcli clean -r <repo> [-y <provider>] [--keep N] [--older-than-days D] [--downloaded-within-days D]
            [--match <glob>] [--delete-newest] [-p <package>] [--dry-run]

  --keep N                     keep the newest N versions of each package
  --older-than-days D          delete versions uploaded more than D days ago (outside --keep, when given)
  --downloaded-within-days D   but keep versions downloaded within the last D days
  --match <glob>               only packages whose name matches (e.g. '*-nightly')
  --delete-newest              the newest version of a package may go too (never, without this)
  -p <name>                    only this package
  --dry-run                    show exactly what would be deleted, delete nothing

Rules not given come from the repository's settings (keep, deleteOlderThanDays,
keepDownloadedWithinDays, retentionPattern, deleteNewest), which also run on a schedule.

Example: rpcli clean -r archrepo -y pacman --keep 3 --older-than-days 90 --dry-run`,
  options: ['repo', 'provider', 'keep', 'older-than-days', 'downloaded-within-days', 'match', 'delete-newest', 'name', 'dry-run'],
  async run(ctx) {
    noMoreArgs(ctx, 0);
    const v = ctx.values;
    // Bad flags are usage errors (exit 2) before any request.
    const keep = intOption('keep', v.keep);
    const older = intOption('older-than-days', v['older-than-days']);
    const downloaded = intOption('downloaded-within-days', v['downloaded-within-days']);
    const { provider, repo } = await resolveRepo(ctx);
    const body: Record<string, unknown> = { dryRun: v['dry-run'] ?? false };
    if (keep !== undefined) body.keep = keep;
    if (older !== undefined) body.deleteOlderThanDays = older;
    if (downloaded !== undefined) body.keepDownloadedWithinDays = downloaded;
    if (v.match) body.retentionPattern = v.match;
    if (v['delete-newest']) body.deleteNewest = true;
    if (v.name) body.name = v.name;
    const res = await ctx.api().json<{ keep: number | null; dryRun: boolean; removed: RemovedFile[] }>('POST', `${repoPath(provider, repo)}/clean`, body);
    if (ctx.out.json) return ctx.out.data(res);
    const verb = res.dryRun ? 'would delete' : 'deleted';
    for (const f of res.removed) ctx.out.line(`${verb} ${f.name} ${f.version}${f.arch ? ` (${f.arch})` : ''} ${f.filename}: ${f.reason}`);
    ctx.out.line(`${verb} ${res.removed.length} file(s), ${humanSize(res.removed.reduce((n, f) => n + f.size, 0))}${res.keep ? `; keeping ${res.keep} version(s) per package` : ''}`);
  },
};

export const reindexCommand: Command = {
  name: 'reindex',
  summary: 're-render every index entry from stored metadata, re-sign, republish once (admin)',
  usage: `rpcli reindex -r <repo> [-y <provider>]

Renders each package's index entry again from what was stored at upload (after a server
upgrade that changes how entries are written), re-signs what the repository key signed,
and publishes every index of the repository once. Files stored before entries were
re-renderable are counted as skipped and keep their entry.

Example: rpcli reindex -r archrepo -y pacman`,
  options: ['repo', 'provider'],
  async run(ctx) {
    noMoreArgs(ctx, 0);
    const { provider, repo } = await resolveRepo(ctx);
    const res = await ctx.api().json<{ rendered: number; changed: number; skipped: number; republished: string[] }>('POST', `${repoPath(provider, repo)}/reindex`, {});
    if (ctx.out.json) return ctx.out.data(res);
    ctx.out.line(`rendered ${res.rendered} entr${res.rendered === 1 ? 'y' : 'ies'} (${res.changed} changed, ${res.skipped} skipped); republished ${res.republished.length} index scope(s)`);
  },
};

interface Status {
  provider: string;
  repo: string;
  packages: number;
  versions: number;
  files: number;
  totalSize: number;
  perArch: Record<string, number>;
  yanked: number;
  lastPublished: string | null;
  scopes: { scope: string; publishedSeq: number; requestedSeq: number; publishedAt: string | null }[];
}

interface Health {
  status: string;
  version: string;
  database: string;
  blobStore: string;
}

export const statusCommand: Command = {
  name: 'status',
  summary: "the server's version and health; with -r: package count, total size, per-arch counts, publish state",
  usage: 'rpcli status                           the server: version, database, blob store, health\nrpcli status -r <repo> [-y <provider>]   and one repository',
  options: ['repo', 'provider'],
  async run(ctx) {
    noMoreArgs(ctx, 1);
    const server = await ctx.api().json<Health>('GET', '/healthz');
    const serverLine = `server ${ctx.api().server}: artifactd ${server.version}, ${server.database} + ${server.blobStore} blob store, ${server.status}`;
    if (!ctx.values.repo && ctx.args[0] === undefined) {
      if (ctx.out.json) return ctx.out.data(server);
      return ctx.out.line(serverLine);
    }
    const { provider, repo } = await resolveRepo(ctx, ctx.args[0]);
    const s = await ctx.api().json<Status>('GET', `${repoPath(provider, repo)}/status`);
    if (ctx.out.json) return ctx.out.data({ ...s, server });
    ctx.out.line(serverLine);
    ctx.out.line(`${s.provider}/${s.repo}: ${s.packages} package(s), ${s.versions} version(s), ${s.files} file(s), ${humanSize(s.totalSize)}${s.yanked ? `, ${s.yanked} yanked` : ''}`);
    const arches = Object.entries(s.perArch);
    if (arches.length) ctx.out.line(`per arch: ${arches.map(([a, n]) => `${a} ${n}`).join(', ')}`);
    ctx.out.line(`last published: ${when(s.lastPublished)}`);
    for (const sc of s.scopes) {
      const state = sc.publishedSeq >= sc.requestedSeq ? 'up to date' : `publishing (${sc.requestedSeq - sc.publishedSeq} change(s) pending)`;
      ctx.out.line(`  ${sc.scope}: ${state}, published ${when(sc.publishedAt)}`);
    }
  },
};

/** `key=value` -> JSON value: null, true/false, integers, comma lists for arches, else text. */
function settingValue(key: string, raw: string): unknown {
  if (raw === 'null' || raw === '') return null;
  if (key === 'arches') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

export const settingsCommand: Command = {
  name: 'settings',
  summary: 'show or change repository settings (admin)',
  usage: `rpcli settings -r <repo> [-y <provider>]                     show
rpcli settings -r <repo> [-y <provider>] key=value...        change (value null: back to the default)

Settings: keep=N (retention after each upload), overwrite=true|false, private=true|false,
  arches=x86_64,aarch64, validDays=N (apt), origin=, label= (apt), description=

Example: rpcli settings -r archrepo -y pacman keep=3 private=true`,
  options: ['repo', 'provider'],
  async run(ctx) {
    const patch: Record<string, unknown> = {};
    for (const a of ctx.args) {
      const m = /^([A-Za-z]+)=(.*)$/s.exec(a);
      if (!m) throw usageError(`settings are key=value, got "${a}"`);
      patch[m[1]] = settingValue(m[1], m[2]);
    }
    const { provider, repo } = await resolveRepo(ctx);
    const path = `${repoPath(provider, repo)}/settings`;
    const res = await ctx.api().json<{ settings: Record<string, unknown>; republished?: string[] }>(ctx.args.length ? 'PATCH' : 'GET', path, ctx.args.length ? patch : undefined);
    if (ctx.out.json) return ctx.out.data(res);
    const entries = Object.entries(res.settings);
    if (entries.length === 0) ctx.out.line(`${provider}/${repo}: default settings`);
    for (const [k, v] of entries) ctx.out.line(`${k} = ${JSON.stringify(v)}`);
    if (res.republished?.length) ctx.out.note(`republished ${res.republished.length} index scope(s)`);
  },
};

export const gcCommand: Command = {
  name: 'gc',
  summary: 'delete stored blobs nothing references any more (admin)',
  usage: 'rpcli gc [--dry-run]',
  options: ['dry-run'],
  async run(ctx) {
    noMoreArgs(ctx, 0);
    const r = await ctx.api().json<{ scanned: number; deleted: number; deletedBytes: number; kept: number; tempFilesDeleted: number; dryRun: boolean }>('POST', '/api/gc', { dryRun: ctx.values['dry-run'] ?? false });
    if (ctx.out.json) return ctx.out.data(r);
    ctx.out.line(`${r.dryRun ? 'would delete' : 'deleted'} ${r.deleted} blob(s), ${humanSize(r.deletedBytes)}; kept ${r.kept} of ${r.scanned}; ${r.tempFilesDeleted} stale temp file(s)`);
  },
};
