/**
 * What the repository metadata needs from an rpm's main header (docs/formats/rpm.md#package-file
 * items 5-8, #primary-filelists-other), checked and kept as plain JSON (`indexData`) so that the
 * primary/filelists/other entries can be rendered again at any reindex.
 */
import { InvalidPackageError } from '../../src/core/errors';
import type { RpmHeader } from './header';
import type { RpmFileLayout } from './parse';
import { FILEFLAG_GHOST, SIGTAG, TAG } from './tags';

/** A dependency as the header has it: name, flag bits, `[E:]V[-R]` (or ''). */
export interface RpmDep {
  name: string;
  flags: number;
  version: string;
}

export type RpmFileType = 'file' | 'dir' | 'ghost';

export interface RpmFile {
  path: string;
  type: RpmFileType;
}

export interface RpmChangelog {
  author: string;
  date: number;
  text: string;
}

export const DEP_KINDS = ['provides', 'requires', 'conflicts', 'obsoletes', 'suggests', 'enhances', 'recommends', 'supplements'] as const;
export type DepKind = (typeof DEP_KINDS)[number];

export interface RpmIndexData {
  name: string;
  /** `src` for source rpms (createrepo_c's parsehdr.c), else the header's ARCH. */
  arch: string;
  epoch: number;
  version: string;
  release: string;
  summary: string;
  description: string;
  packager: string;
  url: string;
  license: string;
  vendor: string;
  group: string;
  buildHost: string;
  sourceRpm: string;
  buildTime: number;
  installedSize: number;
  archiveSize: number;
  headerStart: number;
  headerEnd: number;
  deps: Record<DepKind, RpmDep[]>;
  files: RpmFile[];
  /** Newest first, as in the header; at most `maxChangelogs`. */
  changelog: RpmChangelog[];
}

export interface MetadataLimits {
  /** Most files a package may list. */
  maxFiles: number;
  /** Most entries of one dependency kind. */
  maxDeps: number;
  /** Changelog entries kept (createrepo_c's --changelog-limit default is 10). */
  maxChangelogs: number;
}

export const DEFAULT_METADATA_LIMITS: MetadataLimits = { maxFiles: 500_000, maxDeps: 100_000, maxChangelogs: 10 };

/** rpm refuses '-' in version and release (the EVR split relies on it); names need no whitespace. */
const NAME = /^[A-Za-z0-9_+.][A-Za-z0-9_+.~^-]*$/;
const VERSION_PART = /^[A-Za-z0-9._+~^]+$/;
const ARCH = /^[A-Za-z0-9_]{1,32}$/;

function required(h: RpmHeader, tag: number, what: string): string {
  const v = h.string(tag);
  if (v === undefined || v === '') throw new InvalidPackageError(`the rpm header has no ${what} (tag ${tag})`);
  return v;
}

const DEP_TAGS: Record<DepKind, [name: number, flags: number, version: number]> = {
  provides: [TAG.PROVIDENAME, TAG.PROVIDEFLAGS, TAG.PROVIDEVERSION],
  requires: [TAG.REQUIRENAME, TAG.REQUIREFLAGS, TAG.REQUIREVERSION],
  conflicts: [TAG.CONFLICTNAME, TAG.CONFLICTFLAGS, TAG.CONFLICTVERSION],
  obsoletes: [TAG.OBSOLETENAME, TAG.OBSOLETEFLAGS, TAG.OBSOLETEVERSION],
  // Weak dependencies are stored name/version/flags (5046-5057): the tag numbers say which is which.
  recommends: [TAG.RECOMMENDNAME, TAG.RECOMMENDFLAGS, TAG.RECOMMENDVERSION],
  suggests: [TAG.SUGGESTNAME, TAG.SUGGESTFLAGS, TAG.SUGGESTVERSION],
  supplements: [TAG.SUPPLEMENTNAME, TAG.SUPPLEMENTFLAGS, TAG.SUPPLEMENTVERSION],
  enhances: [TAG.ENHANCENAME, TAG.ENHANCEFLAGS, TAG.ENHANCEVERSION],
};

function deps(h: RpmHeader, kind: DepKind, limits: MetadataLimits): RpmDep[] {
  const [nameTag, flagsTag, versionTag] = DEP_TAGS[kind];
  const names = h.stringArray(nameTag);
  if (names.length > limits.maxDeps) throw new InvalidPackageError(`the rpm lists ${names.length} ${kind}; at most ${limits.maxDeps} are accepted`);
  const flags = h.ints(flagsTag);
  const versions = h.stringArray(versionTag);
  if (names.length && ((h.has(flagsTag) && flags.length !== names.length) || (h.has(versionTag) && versions.length !== names.length))) {
    throw new InvalidPackageError(`the rpm's ${kind} lists differ in length: ${names.length} names, ${flags.length} flags, ${versions.length} versions`);
  }
  return names.map((name, i) => ({ name, flags: flags[i] ?? 0, version: versions[i] ?? '' }));
}

/**
 * An absolute, normalized path: no empty, `.` or `..` segments (they could point outside the
 * install root). A source rpm lists bare file names (the spec and sources, directory ""), so
 * there the name is one segment.
 */
function checkFilePath(p: string, source: boolean): string {
  if (source) {
    if (p === '' || p === '.' || p === '..' || p.includes('/')) throw new InvalidPackageError(`file "${p.slice(0, 200)}" in the source rpm is not a plain file name`);
    return p;
  }
  if (!p.startsWith('/')) throw new InvalidPackageError(`file "${p.slice(0, 200)}" in the rpm is not an absolute path`);
  const segs = p.slice(1).split('/');
  if (p !== '/' && segs.some((s) => s === '..' || s === '.' || s === '')) throw new InvalidPackageError(`file "${p.slice(0, 200)}" in the rpm has a ".", ".." or empty path segment`);
  return p;
}

function filePaths(h: RpmHeader): string[] {
  if (!h.has(TAG.BASENAMES)) return h.stringArray(TAG.OLDFILENAMES); // rpm < 4.0 packages: full names
  const basenames = h.stringArray(TAG.BASENAMES);
  const dirnames = h.stringArray(TAG.DIRNAMES);
  const dirindexes = h.ints(TAG.DIRINDEXES);
  if (dirindexes.length !== basenames.length) throw new InvalidPackageError(`the rpm lists ${basenames.length} file names but ${dirindexes.length} directory indexes`);
  return basenames.map((b, i) => {
    const dir = dirnames[dirindexes[i]];
    if (dir === undefined) throw new InvalidPackageError(`file "${b.slice(0, 200)}" in the rpm points at directory ${dirindexes[i]}, the rpm lists ${dirnames.length}`);
    if (b.includes('/') && b !== '') throw new InvalidPackageError(`file name "${b.slice(0, 200)}" in the rpm contains "/"`);
    return dir + b;
  });
}

function files(h: RpmHeader, limits: MetadataLimits, source: boolean): RpmFile[] {
  const paths = filePaths(h);
  if (paths.length > limits.maxFiles) throw new InvalidPackageError(`the rpm lists ${paths.length} files; at most ${limits.maxFiles} are accepted`);
  const modes = h.ints(TAG.FILEMODES);
  const flags = h.ints(TAG.FILEFLAGS);
  if ((modes.length && modes.length !== paths.length) || (flags.length && flags.length !== paths.length)) {
    throw new InvalidPackageError(`the rpm lists ${paths.length} files but ${modes.length} modes and ${flags.length} flags`);
  }
  return paths.map((p, i) => {
    checkFilePath(p, source);
    // createrepo_c: ghost wins over dir (a %ghost directory is written as ghost).
    const type: RpmFileType = (flags[i] ?? 0) & FILEFLAG_GHOST ? 'ghost' : ((modes[i] ?? 0) & 0o170000) === 0o040000 ? 'dir' : 'file';
    return { path: p, type };
  });
}

function changelog(h: RpmHeader, limits: MetadataLimits): RpmChangelog[] {
  const times = h.ints(TAG.CHANGELOGTIME);
  const names = h.stringArray(TAG.CHANGELOGNAME);
  const texts = h.stringArray(TAG.CHANGELOGTEXT);
  const n = Math.min(times.length, names.length, texts.length, limits.maxChangelogs);
  return Array.from({ length: n }, (_, i) => ({ author: names[i], date: times[i], text: texts[i] }));
}

/**
 * rpm decides a source package from SOURCEPACKAGE (1106) present, else SOURCERPM (1044)
 * absent; ARCH still says the build arch (docs/formats/rpm.md#package-file item 6).
 */
export function isSourcePackage(h: RpmHeader): boolean {
  if (h.has(TAG.SOURCEPACKAGE)) return true;
  return !h.has(TAG.SOURCERPM);
}

export function readMetadata(layout: RpmFileLayout, limits: MetadataLimits = DEFAULT_METADATA_LIMITS): RpmIndexData {
  const h = layout.header;
  const sig = layout.signature;
  const name = required(h, TAG.NAME, 'name');
  const version = required(h, TAG.VERSION, 'version');
  const release = required(h, TAG.RELEASE, 'release');
  if (!NAME.test(name) || name.length > 200) throw new InvalidPackageError(`rpm name "${name.slice(0, 80)}" has characters rpm does not allow in names`);
  if (!VERSION_PART.test(version)) throw new InvalidPackageError(`rpm version "${version.slice(0, 80)}" may only have letters, digits and ". _ + ~ ^" (no "-")`);
  if (!VERSION_PART.test(release)) throw new InvalidPackageError(`rpm release "${release.slice(0, 80)}" may only have letters, digits and ". _ + ~ ^" (no "-")`);
  const source = isSourcePackage(h);
  const headerArch = h.string(TAG.ARCH) ?? (source ? 'src' : '');
  if (!source && !ARCH.test(headerArch)) throw new InvalidPackageError(`rpm architecture "${headerArch.slice(0, 80)}" is not a valid architecture name`);
  const d = {} as Record<DepKind, RpmDep[]>;
  for (const kind of DEP_KINDS) d[kind] = deps(h, kind, limits);
  return {
    name,
    arch: source ? 'src' : headerArch,
    epoch: h.int(TAG.EPOCH) ?? 0,
    version,
    release,
    summary: h.string(TAG.SUMMARY) ?? '',
    description: h.string(TAG.DESCRIPTION) ?? '',
    packager: h.string(TAG.PACKAGER) ?? '',
    url: h.string(TAG.URL) ?? '',
    license: h.string(TAG.LICENSE) ?? '',
    vendor: h.string(TAG.VENDOR) ?? '',
    group: h.string(TAG.GROUP) ?? '',
    buildHost: h.string(TAG.BUILDHOST) ?? '',
    sourceRpm: source ? '' : (h.string(TAG.SOURCERPM) ?? ''),
    buildTime: h.int(TAG.BUILDTIME) ?? 0,
    installedSize: h.int(TAG.LONGSIZE) ?? h.int(TAG.SIZE) ?? 0,
    archiveSize: sig.int(SIGTAG.LONGARCHIVESIZE) ?? sig.int(SIGTAG.PAYLOADSIZE) ?? 0,
    headerStart: layout.headerStart,
    headerEnd: layout.headerEnd,
    deps: d,
    files: files(h, limits, source),
    changelog: changelog(h, limits),
  };
}

/** `[E:]V-R`, the version string stored and compared (epoch 0 is left out, as rpm -q prints it). */
export function evrString(m: Pick<RpmIndexData, 'epoch' | 'version' | 'release'>): string {
  return `${m.epoch ? `${m.epoch}:` : ''}${m.version}-${m.release}`;
}

/** createrepo_c-style file name: `<name>-<version>-<release>.<arch>.rpm` (no epoch). */
export function rpmFilename(m: Pick<RpmIndexData, 'name' | 'version' | 'release' | 'arch'>): string {
  return `${m.name}-${m.version}-${m.release}.${m.arch}.rpm`;
}
