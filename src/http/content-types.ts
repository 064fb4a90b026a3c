import type { Provider } from '../core/provider';

/** Content-Type of a package file by its name (index files carry their own); the provider's own suffixes first. */
const GENERIC: [string, string][] = [
  ['.whl', 'application/zip'],
  ['.zip', 'application/zip'],
  ['.tar.gz', 'application/gzip'],
  ['.tgz', 'application/gzip'],
  ['.gz', 'application/gzip'],
  ['.tar.xz', 'application/x-xz'],
  ['.xz', 'application/x-xz'],
  ['.zst', 'application/zstd'],
  ['.sig', 'application/pgp-signature'],
  ['.asc', 'application/pgp-signature'],
  ['.json', 'application/json'],
  ['.txt', 'text/plain; charset=utf-8'],
];

export function contentTypeFor(provider: Provider | undefined, filename: string): string {
  const lower = filename.toLowerCase();
  for (const [suffix, type] of Object.entries(provider?.contentTypes ?? {})) if (lower.endsWith(suffix)) return type;
  for (const [suffix, type] of GENERIC) if (lower.endsWith(suffix)) return type;
  return 'application/octet-stream';
}
