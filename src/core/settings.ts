/**
 * Repository settings: the core's own (`keep`, `overwrite`, `private`, `description`) merged
 * with the ones each provider declares (`Provider.settings`), their server-wide defaults from
 * the environment (a format's `<FORMAT>_ARCHES`, ...), and the one PATCH schema the admin API validates with.
 * Stored settings hold only what an admin set; `withDefaults` gives the effective view.
 */
import { z } from 'zod';
import type { Provider, RepoInfo } from './provider';

/** One line of text for index fields (Release, APKINDEX): no control characters, they would break the index. */
export const oneLine = (max: number) => z.string().max(max).regex(/^[^\u0000-\u001f\u007f]*$/, 'must be one line without control characters');

/** Settings every repository has, whatever its format. */
export const coreSettings: Record<string, z.ZodType> = {
  /** Newest versions kept per package (older ones are deleted on upload). */
  keep: z.number().int().min(1).max(100_000),
  /** Retention (src/core/retention.ts): versions uploaded more than D days ago go (outside `keep`, when set). */
  deleteOlderThanDays: z.number().int().min(1).max(36_500),
  /** Retention: versions downloaded within the last D days are kept whatever the other rules say. */
  keepDownloadedWithinDays: z.number().int().min(1).max(36_500),
  /** Retention applies only to packages whose name matches this glob (`*` any run of characters; case-insensitive). */
  retentionPattern: z.string().regex(/^[A-Za-z0-9._+@*-]{1,255}$/, 'package-name characters and "*"'),
  /** Retention may delete the newest version of a package too (default: never). */
  deleteNewest: z.boolean(),
  /** Allow replacing a file that already exists at its path. */
  overwrite: z.boolean(),
  /** Reads need a read token even when PUBLIC_READ is on. */
  private: z.boolean(),
  /** Shown in the UI; formats whose indexes carry a description (apt Release, APKINDEX) use it there. */
  description: oneLine(1000),
};

/** An architecture list setting (`arches`), shared by the formats that have architectures. */
export function archesSchema(archName: RegExp, example: string): z.ZodType<string[]> {
  return z.array(z.string().regex(archName, `an architecture name such as ${example}`)).min(1).max(64);
}

/** A comma- or space-separated environment list (`amd64,arm64`) checked item by item. */
export function envList(item: z.ZodString): z.ZodType<string[], string> {
  return z.string().transform((s) => s.split(/[\s,]+/).filter(Boolean)).pipe(z.array(item).min(1));
}

/** The PATCH body of `/api/repos/:provider/:repo/settings`: every setting optional, `null` removes it. */
export function settingsPatchSchema(provider: Provider): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, schema] of Object.entries({ ...coreSettings, ...provider.settings.schema })) shape[key] = schema.nullable().optional();
  return z.strictObject(shape);
}

/** Server-wide defaults per provider, from the parsed configuration (see src/config/schema.ts). */
export type ProviderDefaults = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** The repository with the server-wide defaults under its own settings. */
export function withDefaults(repo: RepoInfo, defaults: ProviderDefaults): RepoInfo {
  const d = defaults[repo.provider];
  if (!d) return repo;
  const settings: Record<string, unknown> = { ...d };
  for (const [k, v] of Object.entries(repo.settings)) if (v !== undefined && v !== null) settings[k] = v;
  return { ...repo, settings };
}

/** A string-list setting (`arches`) with only the items that match `valid`; [] when unset. */
export function listSetting(repo: RepoInfo, key: string, valid: RegExp): string[] {
  const v = repo.settings[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && valid.test(x)) : [];
}

/** Whether a settings change shows in the provider's published indexes (and so republishes). */
export function changesIndexes(provider: Provider, patch: Record<string, unknown>): boolean {
  return Object.keys(patch).some((k) => provider.settings.inIndex.includes(k));
}
