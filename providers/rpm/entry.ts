/**
 * One package's entries in primary.xml, filelists.xml and other.xml, written the way
 * createrepo_c writes them (docs/formats/rpm.md#dependency-flags, #primary-filelists-other:
 * createrepo_c's parsehdr.c, xml_dump_primary.c, xml_dump.c). The `rpm:` prefix is literal:
 * libsolv matches element names as plain strings.
 */
import type { FileHashes } from '../../src/core/provider';
import type { DepKind, RpmDep, RpmFile, RpmIndexData } from './metadata';
import { DEP_KINDS } from './metadata';
import { SENSE } from './tags';
import { attr, element, text } from './xml';

/** The three fragments of one package, stored as the file's entry (JSON). */
export interface RpmEntry {
  primary: string;
  filelists: string;
  other: string;
}

const FLAG_NAMES: Record<number, string> = { 2: 'LT', 4: 'GT', 8: 'EQ', 10: 'LE', 12: 'GE' };

/** createrepo_c's misc.h cr_is_primary(): what goes into primary.xml besides filelists. */
export function isPrimaryFile(path: string): boolean {
  return path.startsWith('/etc/') || path.includes('bin/') || path === '/usr/lib/sendmail';
}

/** `E:V-R` of a dependency: epoch "0" when absent; rel only when present (cr_str_to_evr). */
function splitDepVersion(v: string): { epoch: string; ver: string; rel?: string } {
  const colon = v.indexOf(':');
  let epoch = '0';
  let rest = v;
  if (colon >= 0 && /^\d*$/.test(v.slice(0, colon))) {
    epoch = v.slice(0, colon) || '0';
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, ver: rest.slice(0, dash), rel: rest.slice(dash + 1) } : { epoch, ver: rest };
}

function depEntry(d: RpmDep, pre: boolean): string {
  let s = `<rpm:entry name="${attr(d.name)}"`;
  const flags = FLAG_NAMES[d.flags & 15];
  if (flags) {
    const evr = splitDepVersion(d.version);
    s += ` flags="${flags}" epoch="${attr(evr.epoch)}" ver="${attr(evr.ver)}"`;
    if (evr.rel !== undefined) s += ` rel="${attr(evr.rel)}"`;
  }
  if (pre) s += ' pre="1"';
  return s + '/>';
}

const depKey = (d: RpmDep) => `${d.name}\0${d.flags & 15}\0${d.version}`;

/**
 * Requires as createrepo_c lists them: no `rpmlib(...)`, no file requires the package's own
 * primary files satisfy, none equal to one of its own provides, no duplicates; `pre="1"` for
 * PREREQ, %pre and %post (createrepo_c 0.17, Debian 12's).
 */
export function listedRequires(data: RpmIndexData): { dep: RpmDep; pre: boolean }[] {
  const ownFiles = new Set(data.files.filter((f) => isPrimaryFile(f.path)).map((f) => f.path));
  const provided = new Set(data.deps.provides.map(depKey));
  const seen = new Set<string>();
  const out: { dep: RpmDep; pre: boolean }[] = [];
  for (const d of data.deps.requires) {
    if (d.name.startsWith('rpmlib(')) continue;
    if (d.name.startsWith('/') && ownFiles.has(d.name)) continue;
    if (provided.has(depKey(d))) continue;
    const pre = (d.flags & (SENSE.PREREQ | SENSE.SCRIPT_PRE | SENSE.SCRIPT_POST)) !== 0;
    const key = `${depKey(d)}\0${pre}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ dep: d, pre });
  }
  return out;
}

function listed(data: RpmIndexData, kind: DepKind): { dep: RpmDep; pre: boolean }[] {
  if (kind === 'requires') return listedRequires(data);
  const seen = new Set<string>();
  return data.deps[kind].filter((d) => !seen.has(depKey(d)) && seen.add(depKey(d))).map((dep) => ({ dep, pre: false }));
}

function fileLine(f: RpmFile, indent: string): string {
  const type = f.type === 'file' ? '' : ` type="${f.type}"`;
  return `${indent}<file${type}>${text(f.path)}</file>\n`;
}

const versionTag = (d: RpmIndexData) => `<version epoch="${d.epoch}" ver="${attr(d.version)}" rel="${attr(d.release)}"/>`;

export interface EntryFile {
  /** `<location href>`: the package path relative to the repodata's base URL. */
  href: string;
  size: number;
  hashes: FileHashes;
}

export function renderPrimary(d: RpmIndexData, f: EntryFile): string {
  const lines = [
    '<package type="rpm">\n',
    element('name', d.name, '  '),
    element('arch', d.arch, '  '),
    `  ${versionTag(d)}\n`,
    `  <checksum type="sha256" pkgid="YES">${f.hashes.sha256}</checksum>\n`,
    element('summary', d.summary, '  '),
    element('description', d.description, '  '),
    element('packager', d.packager, '  '),
    element('url', d.url, '  '),
    // createrepo_c writes the file's mtime; the build time is the stable equivalent here (never re-read).
    `  <time file="${d.buildTime}" build="${d.buildTime}"/>\n`,
    `  <size package="${f.size}" installed="${d.installedSize}" archive="${d.archiveSize}"/>\n`,
    `  <location href="${attr(f.href)}"/>\n`,
    '  <format>\n',
    element('rpm:license', d.license, '    '),
    element('rpm:vendor', d.vendor, '    '),
    element('rpm:group', d.group, '    '),
    element('rpm:buildhost', d.buildHost, '    '),
    element('rpm:sourcerpm', d.sourceRpm, '    '),
    `    <rpm:header-range start="${d.headerStart}" end="${d.headerEnd}"/>\n`,
  ];
  for (const kind of DEP_KINDS) {
    const deps = listed(d, kind);
    if (deps.length === 0) continue;
    lines.push(`    <rpm:${kind}>\n`, ...deps.map((x) => `      ${depEntry(x.dep, x.pre)}\n`), `    </rpm:${kind}>\n`);
  }
  for (const file of d.files) if (isPrimaryFile(file.path)) lines.push(fileLine(file, '    '));
  lines.push('  </format>\n', '</package>\n');
  return lines.join('');
}

export function renderFilelists(d: RpmIndexData, sha256: string): string {
  return [
    `<package pkgid="${sha256}" name="${attr(d.name)}" arch="${attr(d.arch)}">\n`,
    `  ${versionTag(d)}\n`,
    ...d.files.map((f) => fileLine(f, '  ')),
    '</package>\n',
  ].join('');
}

export function renderOther(d: RpmIndexData, sha256: string): string {
  // The header has the newest entry first; other.xml lists them oldest first.
  const changes = [...d.changelog].reverse().map((c) => `  <changelog author="${attr(c.author)}" date="${c.date}">${text(c.text)}</changelog>\n`);
  return [`<package pkgid="${sha256}" name="${attr(d.name)}" arch="${attr(d.arch)}">\n`, `  ${versionTag(d)}\n`, ...changes, '</package>\n'].join('');
}

export function renderRpmEntry(d: RpmIndexData, f: EntryFile): string {
  const entry: RpmEntry = { primary: renderPrimary(d, f), filelists: renderFilelists(d, f.hashes.sha256), other: renderOther(d, f.hashes.sha256) };
  return JSON.stringify(entry);
}

export function decodeEntry(entry: string): RpmEntry {
  return JSON.parse(entry) as RpmEntry;
}
