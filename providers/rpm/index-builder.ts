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
import type { EntryKey, EntryRow, IndexFile, KeyedEntries, PublishContext } from '../../src/core/provider';
import { RunMemo } from '../../src/core/run-memo';
import { cutSegments, deflatePart, gzipFromParts, plainDigest, SEGMENT_NAMES, segmentStarts, type DeflatedPart } from '../../src/util/segmented-gzip';
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
export function compareRows(a: SortKey, b: SortKey): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const v = compareEvr(a.version, b.version);
  if (v !== 0) return v;
  if (a.arch !== b.arch) return a.arch < b.arch ? -1 : 1;
  return a.id - b.id;
}
type SortKey = Pick<EntryKey, 'id' | 'name' | 'version' | 'arch'>;

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

const TYPES = ['primary', 'filelists', 'other'] as const;
type DataType = (typeof TYPES)[number];

export interface DataFile {
  type: DataType;
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

/** Each document's opening (the XML declaration and root element: it holds the package count) and closing. */
const HEAD: Record<DataType, (n: number) => string> = {
  primary: (n) => `${XML_DECL}<metadata xmlns="${NS_COMMON}" xmlns:rpm="${NS_RPM}" packages="${n}">\n`,
  filelists: (n) => `${XML_DECL}<filelists xmlns="${NS_FILELISTS}" packages="${n}">\n`,
  other: (n) => `${XML_DECL}<otherdata xmlns="${NS_OTHER}" packages="${n}">\n`,
};
const CLOSE: Record<DataType, string> = { primary: '</metadata>\n', filelists: '</filelists>\n', other: '</otherdata>\n' };

/** Rows in compareRows order cut into runs before names (segmentStarts). */
function runsOf<K extends SortKey>(rows: readonly K[], perSegment: number): K[][] {
  const sorted = rows.slice().sort(compareRows);
  return cutSegments(sorted, segmentStarts(sorted.map((r) => r.name), perSegment), (run) => run);
}

/** One run's fragments of each document, concatenated. */
function runTexts(run: readonly EntryRow[]): Record<DataType, Buffer> {
  const entries = run.map((r) => decodeEntry(r.entry));
  const text = (part: (e: RpmEntry) => string) => Buffer.from(entries.map(part).join(''), 'utf8');
  return { primary: text((e) => e.primary), filelists: text((e) => e.filelists), other: text((e) => e.other) };
}

/**
 * The three documents of a set of entries, in order, each as the plain segments it is
 * compressed in: the opening, one segment per run of packages, the closing. Concatenated, a
 * segment list is the whole document.
 */
export function dataSegments(rows: EntryRow[], perSegment = SEGMENT_NAMES): { type: DataType; segments: Buffer[] }[] {
  const runs = runsOf(rows, perSegment).map(runTexts);
  return TYPES.map((type) => ({ type, segments: [Buffer.from(HEAD[type](rows.length), 'utf8'), ...runs.map((r) => r[type]), Buffer.from(CLOSE[type], 'utf8')] }));
}

// Level 6, zlib's default, as the whole-document gzip these replace was.
const LEVEL = 6;

/** A run's deflated fragments of each document, and how many packages it holds. */
type RunParts = Record<DataType, DeflatedPart> & { count: number };

async function runParts(run: EntryRow[]): Promise<RunParts> {
  const t = runTexts(run);
  const [primary, filelists, other] = await Promise.all(TYPES.map((type) => deflatePart(t[type], LEVEL)));
  return { primary: primary!, filelists: filelists!, other: other!, count: run.length };
}

/**
 * The data files from each run's deflated parts (src/util/segmented-gzip.ts: one ordinary gzip
 * member per document), with the checksums and sizes repomd lists. open-size is summed over
 * the parts. open-checksum is the sha256 of the whole plain document, whose first bytes hold the
 * package count, so no hash state survives an upload: the parts are inflated again a few at a
 * time to hash them (zlib inflates about 700 MB/s, three times as fast as deflate at level 6, and
 * the plain document is never whole in memory).
 */
async function assemble(runs: readonly RunParts[]): Promise<DataFile[]> {
  const n = runs.reduce((s, r) => s + r.count, 0);
  return Promise.all(
    TYPES.map(async (type) => {
      const parts = [await deflatePart(Buffer.from(HEAD[type](n), 'utf8'), LEVEL), ...runs.map((r) => r[type]), await deflatePart(Buffer.from(CLOSE[type], 'utf8'), LEVEL)];
      const gz = gzipFromParts(parts, LEVEL);
      return { type, gz, checksum: sha256(gz), openChecksum: await plainDigest(parts, 'sha256'), openSize: parts.reduce((s, p) => s + p.length, 0) };
    }),
  );
}

/** The data files of a set of entries, every run deflated (or taken from the content memo of segmented-gzip). */
export async function dataFiles(rows: EntryRow[], perSegment = SEGMENT_NAMES): Promise<DataFile[]> {
  return assemble(await Promise.all(runsOf(rows, perSegment).map(runParts)));
}

/** Each run's deflated parts of the three documents by the run's (id, rev) list; bounded (most recently used kept). */
export const runMemo = new RunMemo<RunParts>(
  128 << 20,
  (p) => p.primary.deflated.length + p.filelists.deflated.length + p.other.deflated.length,
  (a, b) => TYPES.every((t) => a[t].deflated.equals(b[t].deflated)),
);

/**
 * The same data files from keys first (PublishContext.keyed): only the runs whose (id, rev)
 * list is not memoized are read and deflated, so adding one package to 100,000 reads one run of
 * rows and never holds every entry at once.
 */
export async function dataFilesKeyed(keyed: KeyedEntries, partitions: string[], perSegment = SEGMENT_NAMES): Promise<DataFile[]> {
  return assemble(await runMemo.values('rpm', runsOf(await keyed.keys(partitions), perSegment), keyed, runParts));
}

export async function buildRpmIndex(ctx: PublishContext): Promise<IndexFile[]> {
  const group = groupOfScope(ctx.scope);
  if (group === null) throw new Error(`rpm: not a repodata scope: "${ctx.scope}"`);
  const partitions = [partitionOf(group)];
  const files = ctx.keyed ? await dataFilesKeyed(ctx.keyed, partitions) : await dataFiles(await ctx.entries(partitions));
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
