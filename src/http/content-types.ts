/** Content-Type of a package file by its name (index files carry their own). */
const BY_SUFFIX: [string, string][] = [
  ['.deb', 'application/vnd.debian.binary-package'],
  ['.whl', 'application/zip'],
  ['.zip', 'application/zip'],
  ['.tar.gz', 'application/gzip'],
  ['.tgz', 'application/gzip'],
  ['.gz', 'application/gzip'],
  ['.tar.xz', 'application/x-xz'],
  ['.xz', 'application/x-xz'],
  ['.zst', 'application/zstd'],
  ['.apk', 'application/vnd.android.package-archive'],
  ['.sig', 'application/pgp-signature'],
  ['.asc', 'application/pgp-signature'],
  ['.json', 'application/json'],
  ['.txt', 'text/plain; charset=utf-8'],
];

export function contentTypeFor(filename: string): string {
  const lower = filename.toLowerCase();
  for (const [suffix, type] of BY_SUFFIX) if (lower.endsWith(suffix)) return type;
  return 'application/octet-stream';
}
