/**
 * The shapes the catalog's reads come back in, and the pure functions over them: the light
 * file row, the API view of a file, package summaries, totals. No queries here (catalog.ts).
 */
import type { FileRow } from '../db/entities';
import type { Provider, RepoInfo } from './provider';

/** A stored package file as every reader but the publisher sees it. */
export type CatalogFile = Pick<
  FileRow,
  'id' | 'repoId' | 'name' | 'nameKey' | 'version' | 'arch' | 'filename' | 'path' | 'partition' | 'size' | 'sha256' | 'meta' | 'yanked' | 'hidden' | 'createdAt' | 'downloads' | 'lastDownloadedAt'
>;


export interface StoredFileView {
  provider: string;
  repo: string;
  name: string;
  version: string;
  arch: string;
  filename: string;
  path: string;
  size: number;
  sha256: string;
  uploadedAt: string;
  yanked: string | null;
  hidden: boolean;
  /** Counted downloads (flushed every DOWNLOAD_FLUSH_SECONDS, src/core/download-stats.ts). */
  downloads: number;
  lastDownloadedAt: string | null;
}

/** Sum of downloads and the latest download time over some files (a version, a package). */
export function downloadTotals(files: Pick<CatalogFile, 'downloads' | 'lastDownloadedAt'>[]): { downloads: number; lastDownloadedAt: string | null } {
  const last = Math.max(0, ...files.map((f) => f.lastDownloadedAt ?? 0));
  return { downloads: files.reduce((n, f) => n + (f.downloads ?? 0), 0), lastDownloadedAt: last ? new Date(last).toISOString() : null };
}

export function fileView(repo: RepoInfo, f: CatalogFile): StoredFileView {
  return {
    provider: repo.provider,
    repo: repo.name,
    name: f.name,
    version: f.version,
    arch: f.arch,
    filename: f.filename,
    path: f.path,
    size: f.size,
    sha256: f.sha256,
    uploadedAt: new Date(f.createdAt).toISOString(),
    yanked: f.yanked,
    hidden: f.hidden,
    downloads: f.downloads ?? 0,
    lastDownloadedAt: f.lastDownloadedAt ? new Date(f.lastDownloadedAt).toISOString() : null,
  };
}

/** The stored `name_key` of a package name: the provider's normalization (PyPI: PEP 503), else the name. */
export function nameKeyOf(provider: Provider, name: string): string {
  return provider.normalizeName ? provider.normalizeName(name) : name;
}

export interface PackageSummary {
  name: string;
  latestVersion: string;
  versions: number;
  files: number;
  arch: string[];
  size: number;
  updatedAt: string;
  description: string;
  downloads: number;
  lastDownloadedAt: string | null;
}

/** Group light rows into packages by name key; newest version by the provider's order. In first-seen key order. */
export function summarize(provider: Provider, rows: CatalogFile[]): PackageSummary[] {
  const byKey = new Map<string, CatalogFile[]>();
  for (const r of rows) (byKey.get(r.nameKey) ?? byKey.set(r.nameKey, []).get(r.nameKey)!).push(r);
  return [...byKey.values()].map((files) => {
    const versions = [...new Set(files.map((f) => f.version))].sort((a, b) => provider.compareVersions(a, b));
    const latest = versions[versions.length - 1];
    const latestFile = files.filter((f) => f.version === latest).at(-1)!;
    const meta = JSON.parse(latestFile.meta || '{}') as { description?: string };
    return {
      name: latestFile.name,
      latestVersion: latest,
      versions: versions.length,
      files: files.length,
      arch: [...new Set(files.map((f) => f.arch).filter(Boolean))].sort(),
      size: files.reduce((n, f) => n + f.size, 0),
      updatedAt: new Date(Math.max(...files.map((f) => f.createdAt))).toISOString(),
      description: typeof meta.description === 'string' ? meta.description : '',
      ...downloadTotals(files),
    };
  });
}

/** Case-insensitive substring match on a package's name or (newest) description. */
export function matches(p: PackageSummary, q: string): boolean {
  const needle = q.toLowerCase();
  return p.name.toLowerCase().includes(needle) || p.description.toLowerCase().includes(needle);
}

export interface RepoStats {
  packages: number;
  files: number;
  size: number;
  lastUpload: number | null;
  downloads: number;
  lastDownloadedAt: number | null;
}

export interface RepoStatus {
  packages: number;
  versions: number;
  files: number;
  totalSize: number;
  /** Distinct packages per stored architecture ('' excluded). */
  perArch: Record<string, number>;
  yanked: number;
}

export interface Page {
  limit: number;
  offset: number;
}

export interface SearchHit extends PackageSummary {
  provider: string;
  repo: string;
}
