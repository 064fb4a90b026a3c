/**
 * `<branch>/<arch>/APKINDEX.tar.gz` (docs/formats/apk.md#apkindex, #index-signature, #repository-layout):
 *
 *   U = gzip(tar[DESCRIPTION, APKINDEX] + end-of-archive)        one gzip member
 *   S = gzip(tar[.SIGN.RSA256.<keyName> per active key], padded, NO end-of-archive)
 *   served bytes = S ‖ U
 *
 * Each signature is RSA PKCS#1 v1.5 over SHA-256 of U's bytes (the `RSA256` name tells apk
 * the digest). During a key rotation every active key signs; apk uses the first entry whose
 * key file it has. noarch records are listed with `A:` rewritten to the index architecture
 * (abuild's `apk index --rewrite-arch`), because apk builds the download URL from `A:`.
 */
import type { EntryRow, IndexFile, PublishContext, RsaSigner } from '../../src/core/provider';
import { gzipDeterministic } from '../../src/util/compression';
import { NOARCH, scopeOf, splitScope } from './layout';
import { writeTar } from '../../src/util/tar-writer';

/** apk's own writer uses mtime 0 for index entries. */
const EPOCH = new Date(0);
import { compareApkVersions } from './version';

const MAX_DESCRIPTION = 160; // apk reads DESCRIPTION only up to this size

/** Record text with its `A:` line set to `arch`. */
export function rewriteArch(entry: string, arch: string): string {
  return entry.replace(/^A:.*$/m, `A:${arch}`);
}

/** Every version of every package, by name then apk version order (then upload order). */
export function sortRows(rows: EntryRow[]): EntryRow[] {
  return [...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareApkVersions(a.version, b.version) || a.id - b.id));
}

export function apkindexText(rows: EntryRow[], arch: string): string {
  return sortRows(rows)
    .map((r) => {
      const rec = r.entry.endsWith('\n') ? r.entry : r.entry + '\n';
      return (r.arch === NOARCH ? rewriteArch(rec, arch) : rec) + '\n';
    })
    .join('');
}

/** DESCRIPTION: the repository's `description` setting or "<repo> <branch>", cut to 160 bytes. */
export function descriptionText(settings: Record<string, unknown>, repoName: string, branch: string): string {
  const d = typeof settings.description === 'string' && settings.description.trim() ? settings.description.trim() : `${repoName} ${branch}`;
  const chars = Array.from(d.replace(/[\r\n]+/g, ' ')).slice(0, MAX_DESCRIPTION);
  while (Buffer.byteLength(chars.join('')) > MAX_DESCRIPTION) chars.pop();
  return chars.join('');
}

export function unsignedIndex(description: string, apkindex: string): Buffer {
  const tar = writeTar([
    { name: 'DESCRIPTION', data: Buffer.from(description), mtime: EPOCH },
    { name: 'APKINDEX', data: Buffer.from(apkindex), mtime: EPOCH },
  ]);
  return gzipDeterministic(tar);
}

/** The prepended signature member: one `.SIGN.RSA256.<keyName>` entry per key, no end blocks. */
export function signatureMember(unsigned: Buffer, keys: RsaSigner[]): Buffer {
  const entries = keys.map((k) => ({ name: `.SIGN.RSA256.${k.keyName}`, data: k.sign(unsigned, 'sha256'), mtime: EPOCH }));
  return gzipDeterministic(writeTar(entries, { endOfArchive: false }));
}

export async function buildApkIndex(ctx: PublishContext): Promise<IndexFile[]> {
  const scope = splitScope(ctx.scope);
  if (!scope || scope.arch === NOARCH) throw new Error(`apk: cannot build an index for scope "${ctx.scope}"`);
  const rows = await ctx.entries([ctx.scope, scopeOf(scope.branch, NOARCH)]);
  const unsigned = unsignedIndex(descriptionText(ctx.repo.settings, ctx.repo.name, scope.branch), apkindexText(rows, scope.arch));
  const keys = await ctx.signer.rsa();
  const data = keys.length ? Buffer.concat([signatureMember(unsigned, keys), unsigned]) : unsigned;
  return [{ path: `${ctx.scope}/APKINDEX.tar.gz`, data, contentType: 'application/gzip' }];
}
