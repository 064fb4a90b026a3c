/**
 * Publishing one group's repodata/ (docs/formats/rpm.md#repomd): primary, filelists and other
 * as gzip (compression is judged by the file extension; Debian's createrepo_c 0.17 and older
 * clients know gzip, and a repomd lists one file per type), each named by its sha256 so a
 * client never mixes generations; repomd.xml with checksum, open-checksum, timestamp, size and
 * open-size (zypper treats size as a hard limit, so it is exact); repomd.xml.asc, a detached
 * armored signature over repomd.xml's exact bytes (dnf repo_gpgcheck, zypper); repomd.xml.key,
 * the repository's public key (zypper --gpg-auto-import-keys imports it).
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { EntryRow, IndexFile, PublishContext } from '../../src/core/provider';
import { decodeEntry } from './entry';
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

/** Deterministic gzip (no name, mtime 0), on the thread pool so the three files compress at once. */
function gzip(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => zlib.gzip(data, { level: 6 }, (err, out) => (err ? reject(err) : resolve(out))));
}

export interface DataFile {
  type: 'primary' | 'filelists' | 'other';
  plain: Buffer;
  gz: Buffer;
}

export function repomdXml(revision: number, files: DataFile[]): string {
  const lines = [XML_DECL.trimEnd(), `<repomd xmlns="${NS_REPO}" xmlns:rpm="${NS_RPM}">`, `  <revision>${revision}</revision>`];
  for (const f of files) {
    lines.push(
      `  <data type="${f.type}">`,
      `    <checksum type="sha256">${sha256(f.gz)}</checksum>`,
      `    <open-checksum type="sha256">${sha256(f.plain)}</open-checksum>`,
      `    <location href="repodata/${sha256(f.gz)}-${f.type}.xml.gz"/>`,
      `    <timestamp>${revision}</timestamp>`,
      `    <size>${f.gz.length}</size>`,
      `    <open-size>${f.plain.length}</open-size>`,
      '  </data>',
    );
  }
  lines.push('</repomd>', '');
  return lines.join('\n');
}

/** The three documents of a set of entries, in order. */
export function dataDocuments(rows: EntryRow[]): { type: DataFile['type']; plain: Buffer }[] {
  const entries = rows.slice().sort(compareRows).map((r) => decodeEntry(r.entry));
  const n = entries.length;
  const doc = (open: string, parts: string[], close: string) => Buffer.from(XML_DECL + open + parts.join('') + close, 'utf8');
  return [
    { type: 'primary', plain: doc(`<metadata xmlns="${NS_COMMON}" xmlns:rpm="${NS_RPM}" packages="${n}">\n`, entries.map((e) => e.primary), '</metadata>\n') },
    { type: 'filelists', plain: doc(`<filelists xmlns="${NS_FILELISTS}" packages="${n}">\n`, entries.map((e) => e.filelists), '</filelists>\n') },
    { type: 'other', plain: doc(`<otherdata xmlns="${NS_OTHER}" packages="${n}">\n`, entries.map((e) => e.other), '</otherdata>\n') },
  ];
}

export async function buildRpmIndex(ctx: PublishContext): Promise<IndexFile[]> {
  const group = groupOfScope(ctx.scope);
  if (group === null) throw new Error(`rpm: not a repodata scope: "${ctx.scope}"`);
  const rows = await ctx.entries([partitionOf(group)]);
  const docs = dataDocuments(rows);
  const files: DataFile[] = await Promise.all(docs.map(async (d) => ({ ...d, gz: await gzip(d.plain) })));
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
    out.push({ path: storedDataPath(base, `${sha256(f.gz)}-${f.type}.xml.gz`), data: f.gz, contentType: 'application/gzip', historic: true });
  }
  return out;
}
