/**
 * Publishing one group's repodata/ (docs/formats/rpm.md#repomd): primary, filelists and other
 * as gzip (compression is judged by the file extension; Debian's createrepo_c 0.17 and older
 * clients know gzip, and a repomd lists one file per type), each compressed in segments so an
 * upload recompresses about one (#segmented-compression) and named by its sha256 so a client
 * never mixes generations; repomd.xml with checksum, open-checksum, timestamp, size and
 * open-size (zypper treats size as a hard limit, so it is exact); repomd.xml.asc, a detached
 * armored signature over repomd.xml's exact bytes (dnf repo_gpgcheck, zypper); repomd.xml.key,
 * the repository's public key (zypper --gpg-auto-import-keys imports it).
 */
import crypto from 'node:crypto';
import type { EntryRow, IndexFile, PublishContext } from '../../src/core/provider';
import { cutSegments, gzipSegments, SEGMENT_NAMES, segmentStarts } from '../../src/util/segmented-gzip';
import { decodeEntry, type RpmEntry } from './entry';
import { baseOf, groupOfScope, partitionOf, storedDataPath } from './layout';
import { compareEvr } from './version';

const NS_COMMON = 'http://linux.duke.edu/metadata/common';
const NS_RPM = 'http://linux.duke.edu/metadata/rpm';
const NS_FILELISTS = 'http://linux.duke.edu/metadata/filelists';
const NS_OTHER = 'http://linux.duke.edu/metadata/other';
const NS_REPO = 'http://linux.duke.edu/metadata/repo';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** Name, then rpm version order, then arch, then upload order: stable output for the same set. */
export function compareRows(a: EntryRow, b: EntryRow): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const v = compareEvr(a.version, b.version);
  if (v !== 0) return v;
  if (a.arch !== b.arch) return a.arch < b.arch ? -1 : 1;
  return a.id - b.id;
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

export interface DataFile {
  type: 'primary' | 'filelists' | 'other';
  gz: Buffer;
  /** sha256 (hex) of `gz`, the served file (repomd checksum and the file's name). */
  checksum: string;
  /** sha256 (hex) and length of the decompressed document (repomd open-checksum, open-size). */
  openChecksum: string;
  openSize: number;
}

export function repomdXml(revision: number, files: DataFile[]): string {
  const lines = [XML_DECL.trimEnd(), `<repomd xmlns="${NS_REPO}" xmlns:rpm="${NS_RPM}">`, `  <revision>${revision}</revision>`];
  for (const f of files) {
    lines.push(
      `  <data type="${f.type}">`,
      `    <checksum type="sha256">${f.checksum}</checksum>`,
      `    <open-checksum type="sha256">${f.openChecksum}</open-checksum>`,
      `    <location href="repodata/${f.checksum}-${f.type}.xml.gz"/>`,
      `    <timestamp>${revision}</timestamp>`,
      `    <size>${f.gz.length}</size>`,
      `    <open-size>${f.openSize}</open-size>`,
      '  </data>',
    );
  }
  lines.push('</repomd>', '');
  return lines.join('\n');
}

/**
 * The three documents of a set of entries, in order, each as the plain segments it is
 * compressed in: the XML declaration and opening element (it holds the package count), one
 * segment per run of packages (rows in compareRows order, cut before names: segmentStarts),
 * the closing element. Concatenated, a segment list is the whole document.
 */
export function dataSegments(rows: EntryRow[], perSegment = SEGMENT_NAMES): { type: DataFile['type']; segments: Buffer[] }[] {
  const sorted = rows.slice().sort(compareRows);
  const entries = sorted.map((r) => decodeEntry(r.entry));
  const starts = segmentStarts(sorted.map((r) => r.name), perSegment);
  const n = entries.length;
  const doc = (open: string, part: (e: RpmEntry) => string, close: string) => [
    Buffer.from(XML_DECL + open, 'utf8'),
    ...cutSegments(entries, starts, (run) => Buffer.from(run.map(part).join(''), 'utf8')),
    Buffer.from(close, 'utf8'),
  ];
  return [
    { type: 'primary', segments: doc(`<metadata xmlns="${NS_COMMON}" xmlns:rpm="${NS_RPM}" packages="${n}">\n`, (e) => e.primary, '</metadata>\n') },
    { type: 'filelists', segments: doc(`<filelists xmlns="${NS_FILELISTS}" packages="${n}">\n`, (e) => e.filelists, '</filelists>\n') },
    { type: 'other', segments: doc(`<otherdata xmlns="${NS_OTHER}" packages="${n}">\n`, (e) => e.other, '</otherdata>\n') },
  ];
}

/**
 * The data files of a set of entries: each document gzip'd from its segments
 * (src/util/segmented-gzip.ts; one ordinary gzip member, segments deflated on the thread pool),
 * with the checksums and sizes repomd lists. The plain document is never joined in memory:
 * open-checksum and open-size are summed over the segments.
 */
export async function dataFiles(rows: EntryRow[], perSegment = SEGMENT_NAMES): Promise<DataFile[]> {
  return Promise.all(
    dataSegments(rows, perSegment).map(async ({ type, segments }) => {
      // Level 6, zlib's default, as the whole-document gzip these replace was.
      const gz = await gzipSegments(segments, 6);
      const open = crypto.createHash('sha256');
      let openSize = 0;
      for (const s of segments) {
        open.update(s);
        openSize += s.length;
      }
      return { type, gz, checksum: sha256(gz), openChecksum: open.digest('hex'), openSize };
    }),
  );
}

export async function buildRpmIndex(ctx: PublishContext): Promise<IndexFile[]> {
  const group = groupOfScope(ctx.scope);
  if (group === null) throw new Error(`rpm: not a repodata scope: "${ctx.scope}"`);
  const rows = await ctx.entries([partitionOf(group)]);
  const files = await dataFiles(rows);
  const revision = Math.floor(ctx.now.getTime() / 1000);
  const repomd = Buffer.from(repomdXml(revision, files), 'utf8');
  const pgp = await ctx.signer.openpgp();
  const base = baseOf(group);
  const out: IndexFile[] = [
    { path: `${base}repodata/repomd.xml`, data: repomd, contentType: 'text/xml; charset=utf-8' },
    { path: `${base}repodata/repomd.xml.asc`, data: await pgp.detachSign(repomd, true), contentType: 'application/pgp-signature' },
    { path: `${base}repodata/repomd.xml.key`, data: Buffer.from(pgp.publicKeyArmored, 'utf8'), contentType: 'application/pgp-keys' },
  ];
  for (const f of files) {
    out.push({ path: storedDataPath(base, `${f.checksum}-${f.type}.xml.gz`), data: f.gz, contentType: 'application/gzip', historic: true });
  }
  return out;
}
