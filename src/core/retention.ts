/**
 * Retention rules, per repository (core settings, src/core/settings.ts):
 * - `keep`: the newest N versions of each package are kept;
 * - `deleteOlderThanDays`: versions uploaded more than D days ago go. With `keep` as well,
 *   a version goes only when it is both outside the newest N and older than D ("keep at least
 *   N, and drop the rest once they are old"); `keep` alone drops everything past the N newest;
 * - `keepDownloadedWithinDays`: a version any of whose files was downloaded within the last
 *   D days is kept, whatever the rules above say;
 * - `retentionPattern`: the rules apply only to packages whose name matches this glob;
 * - the newest version of a package is never deleted unless `deleteNewest` is true.
 * Rules run after each upload (for that package), on `rpcli clean`, and every
 * RETENTION_INTERVAL_SECONDS under a cross-instance lock (src/core/locks.ts).
 */
import type { CatalogFile } from './catalog';
import type { Provider } from './provider';

export interface RetentionRules {
  keep?: number;
  deleteOlderThanDays?: number;
  keepDownloadedWithinDays?: number;
  retentionPattern?: string;
  deleteNewest?: boolean;
}

export const RETENTION_KEYS = ['keep', 'deleteOlderThanDays', 'keepDownloadedWithinDays', 'retentionPattern', 'deleteNewest'] as const;

/** The rules a repository's settings hold (values of the wrong type are ignored). */
export function rulesOf(settings: Record<string, unknown>): RetentionRules {
  const num = (k: string) => (typeof settings[k] === 'number' ? (settings[k] as number) : undefined);
  return {
    keep: num('keep'),
    deleteOlderThanDays: num('deleteOlderThanDays'),
    keepDownloadedWithinDays: num('keepDownloadedWithinDays'),
    retentionPattern: typeof settings.retentionPattern === 'string' ? settings.retentionPattern : undefined,
    deleteNewest: settings.deleteNewest === true,
  };
}

/** Whether the rules can delete anything (a pattern or a download window alone delete nothing). */
export function hasRules(r: RetentionRules): boolean {
  return r.keep !== undefined || r.deleteOlderThanDays !== undefined;
}

export function namePatternMatches(pattern: string, name: string): boolean {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i').test(name);
}

export interface DoomedVersion {
  name: string;
  version: string;
  files: CatalogFile[];
  /** Why it goes, for dry runs and the audit log. */
  reason: string;
}

type RetentionRow = CatalogFile & { lastDownloadedAt?: number | null };

/** What the rules remove from these rows (any number of packages), by version, newest package order kept. */
export function selectDoomed(provider: Provider, rows: RetentionRow[], rules: RetentionRules, now = Date.now()): DoomedVersion[] {
  if (!hasRules(rules)) return [];
  const byKey = new Map<string, RetentionRow[]>();
  for (const r of rows) (byKey.get(r.nameKey) ?? byKey.set(r.nameKey, []).get(r.nameKey)!).push(r);
  const doomed: DoomedVersion[] = [];
  const ageCutoff = rules.deleteOlderThanDays === undefined ? null : now - rules.deleteOlderThanDays * 86_400_000;
  const downloadCutoff = rules.keepDownloadedWithinDays === undefined ? null : now - rules.keepDownloadedWithinDays * 86_400_000;
  for (const files of byKey.values()) {
    if (rules.retentionPattern && !namePatternMatches(rules.retentionPattern, files[0].name)) continue;
    const versions = [...new Set(files.map((f) => f.version))].sort((a, b) => provider.compareVersions(b, a));
    versions.forEach((version, i) => {
      const vf = files.filter((f) => f.version === version);
      if (i === 0 && !rules.deleteNewest) return;
      const outsideKeep = rules.keep !== undefined && i >= rules.keep;
      const uploaded = Math.max(...vf.map((f) => f.createdAt));
      const tooOld = ageCutoff !== null && uploaded < ageCutoff;
      const goes = rules.keep !== undefined && ageCutoff !== null ? outsideKeep && tooOld : rules.keep !== undefined ? outsideKeep : tooOld;
      if (!goes) return;
      const lastDownload = Math.max(0, ...vf.map((f) => f.lastDownloadedAt ?? 0));
      if (downloadCutoff !== null && lastDownload >= downloadCutoff) return;
      const reasons = [
        ...(outsideKeep ? [`not among the newest ${rules.keep}`] : []),
        ...(tooOld ? [`uploaded more than ${rules.deleteOlderThanDays} days ago`] : []),
        ...(downloadCutoff !== null ? [`not downloaded within ${rules.keepDownloadedWithinDays} days`] : []),
      ];
      doomed.push({ name: vf[0].name, version, files: vf, reason: reasons.join(', ') });
    });
  }
  return doomed;
}
