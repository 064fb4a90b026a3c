/**
 * The pre-rendered database entry of one package: its `desc` and `files` texts, exactly as
 * repo-add of pacman 6.0.2 writes them (scripts/repo-add.sh.in `db_write_entry`, docs/formats/pacman.md#database-entries).
 * Values are taken from `.PKGINFO` unchanged: pacman >= 6.1 compares them with the package.
 */
import type { PkgInfo } from './pkginfo';

export interface DescFileFacts {
  filename: string;
  csize: number;
  /** Absent when not computed (the provider declares it in `digests`, so only rows from a broken store lack it). */
  md5?: string;
  sha256: string;
  /** The binary detached signature of the package file, embedded base64 as %PGPSIG%. */
  signature?: Buffer;
}

/**
 * One `%KEY%` section: the key line, one value per line, an empty line. Empty fields are left
 * out. Empty list items are dropped too: an empty line would end the section early in libalpm's
 * parser and turn the following values into bogus keys.
 */
function section(key: string, values: Array<string | undefined>): string {
  const vals = values.filter((v): v is string => v !== undefined && v !== '');
  if (vals.length === 0) return '';
  return `%${key}%\n${vals.join('\n')}\n\n`;
}

/** The `desc` file, sections in repo-add 6.0.2's order. */
export function renderDesc(info: PkgInfo, facts: DescFileFacts): string {
  const s = info.single;
  const l = info.lists;
  return [
    section('FILENAME', [facts.filename]),
    section('NAME', [info.pkgname]),
    section('BASE', [s.pkgbase]),
    section('VERSION', [info.pkgver]),
    section('DESC', [s.pkgdesc]),
    section('GROUPS', l.group),
    section('CSIZE', [String(facts.csize)]),
    section('ISIZE', [s.size]),
    // Dropped by repo-add >= 6.1 and ignored by current libalpm, but 6.0.2 (Debian 12) writes it.
    section('MD5SUM', [facts.md5]),
    section('SHA256SUM', [facts.sha256]),
    section('PGPSIG', [facts.signature?.toString('base64')]),
    section('URL', [s.url]),
    section('LICENSE', l.license),
    section('ARCH', [info.arch]),
    section('BUILDDATE', [s.builddate]),
    section('PACKAGER', [s.packager]),
    section('REPLACES', l.replaces),
    section('CONFLICTS', l.conflict),
    section('PROVIDES', l.provides),
    section('DEPENDS', l.depend),
    section('OPTDEPENDS', l.optdepend),
    section('MAKEDEPENDS', l.makedepend),
    section('CHECKDEPENDS', l.checkdepend),
  ].join('');
}

/** The `files` file of the `.files` database: `%FILES%` then one path per line. */
export function renderFiles(files: string[]): string {
  return `%FILES%\n${files.map((f) => `${f}\n`).join('')}`;
}

/** What we store as the opaque `entry` string of a package file. */
export interface StoredEntry {
  desc: string;
  files: string;
}

export function encodeEntry(e: StoredEntry): string {
  return JSON.stringify({ desc: e.desc, files: e.files });
}

export function decodeEntry(raw: string): StoredEntry {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    // A stored row we wrote ourselves: corruption is a server fault (500), not a bad upload.
    throw new Error('stored pacman entry is not JSON');
  }
  const o = v as Partial<StoredEntry> | null;
  if (!o || typeof o.desc !== 'string' || typeof o.files !== 'string') throw new Error('stored pacman entry lacks desc/files');
  return { desc: o.desc, files: o.files };
}
