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
import type { EntryKey, EntryRow, IndexFile, KeyedEntries, PublishContext, RsaSigner } from '../../src/core/provider';
import { RunMemo } from '../../src/core/run-memo';
import { gzipDeterministic } from '../../src/util/compression';
import { cutSegments, deflatePart, gzipFromParts, gzipSegments, SEGMENT_NAMES, segmentStarts, type DeflatedPart } from '../../src/util/segmented-gzip';
import { END_OF_ARCHIVE, tarFileHead, tarPadding, writeTar } from '../../src/util/tar-writer';
import { NOARCH, scopeOf, splitScope } from './layout';
import { compareApkVersions } from './version';

/** apk's own writer uses mtime 0 for index entries. */
const EPOCH = new Date(0);

const MAX_DESCRIPTION = 160; // apk reads DESCRIPTION only up to this size

/** Record text with its `A:` line set to `arch`. */
export function rewriteArch(entry: string, arch: string): string {
  return entry.replace(/^A:.*$/m, `A:${arch}`);
}

/** Every version of every package, by name then apk version order (then upload order). */
export function sortRows<K extends Pick<EntryKey, 'id' | 'name' | 'version'>>(rows: K[]): K[] {
  return [...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareApkVersions(a.version, b.version) || a.id - b.id));
}

/** One package's record as listed for `arch`, ending in the empty line that separates records. */
function recordText(r: EntryRow, arch: string): string {
  const rec = r.entry.endsWith('\n') ? r.entry : r.entry + '\n';
  return (r.arch === NOARCH ? rewriteArch(rec, arch) : rec) + '\n';
}

/** DESCRIPTION: the repository's `description` setting or "<repo> <branch>", cut to 160 bytes. */
export function descriptionText(settings: Record<string, unknown>, repoName: string, branch: string): string {
  const d = typeof settings.description === 'string' && settings.description.trim() ? settings.description.trim() : `${repoName} ${branch}`;
  const chars = Array.from(d.replace(/[\r\n]+/g, ' ')).slice(0, MAX_DESCRIPTION);
  while (Buffer.byteLength(chars.join('')) > MAX_DESCRIPTION) chars.pop();
  return chars.join('');
}

/**
 * The plain segments of the unsigned index's tar, [DESCRIPTION, APKINDEX] + end-of-archive:
 * DESCRIPTION and the APKINDEX header (it holds the text's size, so it changes with every
 * upload, but it is at most 1.5 KiB), one segment per run of records (sorted by sortRows, cut
 * before names: segmentStarts), then the text's padding and the end-of-archive. The entry's
 * bytes stay contiguous: concatenated, the segments are the tar a single writeTar gives.
 */
export function indexSegments(description: string, rows: EntryRow[], arch: string, perSegment = SEGMENT_NAMES): Buffer[] {
  const runs = runsOf(rows, perSegment).map((run) => runText(run, arch));
  const size = runs.reduce((n, run) => n + run.length, 0);
  return [headSegment(description, size), ...runs, tailSegment(size)];
}

/** Records sorted (sortRows) and cut before names (segmentStarts). */
function runsOf<K extends Pick<EntryKey, 'id' | 'name' | 'version'>>(rows: K[], perSegment: number): K[][] {
  const sorted = sortRows(rows);
  return cutSegments(sorted, segmentStarts(sorted.map((r) => r.name), perSegment), (run) => run);
}

const runText = (run: EntryRow[], arch: string) => Buffer.from(run.map((r) => recordText(r, arch)).join(''), 'utf8');
/** DESCRIPTION, then the APKINDEX entry's header (it holds the text's size). */
const headSegment = (description: string, size: number) =>
  Buffer.concat([writeTar([{ name: 'DESCRIPTION', data: Buffer.from(description), mtime: EPOCH }], { endOfArchive: false }), tarFileHead('APKINDEX', size, EPOCH)]);
const tailSegment = (size: number) => Buffer.concat([tarPadding(size), END_OF_ARCHIVE]);

// Level 9, as the whole-archive gzip (gzipDeterministic's default) was.
const LEVEL = 9;

/** Each run's deflated records by the run's (id, rev) list and the index's arch (noarch records are rewritten per arch). */
export const runMemo = new RunMemo<DeflatedPart>(
  64 << 20,
  (p) => p.deflated.length,
  (a, b) => a.deflated.equals(b.deflated),
);

/**
 * The unsigned index from keys first (PublishContext.keyed): the same bytes as `unsignedIndex`,
 * reading and deflating only the runs whose (id, rev) list is not memoized.
 */
export async function unsignedIndexKeyed(description: string, keyed: KeyedEntries, partitions: string[], arch: string, perSegment = SEGMENT_NAMES): Promise<Buffer> {
  const runs = runsOf(await keyed.keys(partitions), perSegment);
  const parts = await runMemo.values(`apk:${arch}`, runs, keyed, (rows) => deflatePart(runText(rows, arch), LEVEL));
  const size = parts.reduce((n, p) => n + p.length, 0);
  return gzipFromParts([await deflatePart(headSegment(description, size), LEVEL), ...parts, await deflatePart(tailSegment(size), LEVEL)], LEVEL);
}

/**
 * The unsigned index U: ONE gzip member (what apk reads after the signature member), assembled
 * from the segments deflated separately (src/util/segmented-gzip.ts), so an upload deflates
 * the header and the run that changed and takes the rest from the memo.
 */
export function unsignedIndex(description: string, rows: EntryRow[], arch: string, perSegment = SEGMENT_NAMES): Promise<Buffer> {
  return gzipSegments(indexSegments(description, rows, arch, perSegment), LEVEL);
}

/** The prepended signature member: one `.SIGN.RSA256.<keyName>` entry per key, no end blocks. */
export function signatureMember(unsigned: Buffer, keys: RsaSigner[]): Buffer {
  const entries = keys.map((k) => ({ name: `.SIGN.RSA256.${k.keyName}`, data: k.sign(unsigned, 'sha256'), mtime: EPOCH }));
  return gzipDeterministic(writeTar(entries, { endOfArchive: false }));
}

export async function buildApkIndex(ctx: PublishContext): Promise<IndexFile[]> {
  const scope = splitScope(ctx.scope);
  if (!scope || scope.arch === NOARCH) throw new Error(`apk: cannot build an index for scope "${ctx.scope}"`);
  const partitions = [ctx.scope, scopeOf(scope.branch, NOARCH)];
  const description = descriptionText(ctx.repo.settings, ctx.repo.name, scope.branch);
  const unsigned = ctx.keyed ? await unsignedIndexKeyed(description, ctx.keyed, partitions, scope.arch) : await unsignedIndex(description, await ctx.entries(partitions), scope.arch);
  const keys = await ctx.signer.rsa();
  const data = keys.length ? Buffer.concat([signatureMember(unsigned, keys), unsigned]) : unsigned;
  return [{ path: `${ctx.scope}/APKINDEX.tar.gz`, data, contentType: 'application/gzip' }];
}
