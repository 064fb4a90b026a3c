/**
 * `.PKGINFO` reader and validator, following libalpm's `parse_descfile` (lib/libalpm/be_package.c)
 * and makepkg's `write_pkginfo`, as summarised in docs/formats/pacman.md#pkginfo:
 * one `key = value` per line (the key ends at the first space, which must start " = "),
 * `#` comments, empty lines ignored, a repeated key is a list.
 */
import { InvalidPackageError } from '../../src/core/errors';

/** Keys that may appear once; a repeat keeps the last value, like libalpm and repo-add. */
const SINGLE_KEYS = ['pkgname', 'pkgbase', 'pkgver', 'pkgdesc', 'url', 'builddate', 'packager', 'size', 'arch'] as const;
/** Keys that are lists, one line per value. */
const LIST_KEYS = [
  'license', 'replaces', 'group', 'conflict', 'provides', 'backup',
  'depend', 'optdepend', 'makedepend', 'checkdepend', 'xdata',
] as const;

type SingleKey = (typeof SINGLE_KEYS)[number];
type ListKey = (typeof LIST_KEYS)[number];

export interface PkgInfo {
  pkgname: string;
  pkgver: string;
  arch: string;
  single: Partial<Record<SingleKey, string>>;
  lists: Record<ListKey, string[]>;
}

/**
 * Package names: makepkg's lint (scripts/libmakepkg/lint_pkgbuild/pkgname.sh) allows ASCII
 * alphanumerics and `@._+-`, not starting with `-` or `.`. That also keeps `%FILENAME%` valid
 * (no `/`, no leading `.`, docs/formats/pacman.md#database-entries) and the db directory name `<name>-<version>` parseable.
 */
const NAME_RE = /^[A-Za-z0-9@_+][A-Za-z0-9@._+-]*$/;
/**
 * Versions: `[epoch:]pkgver-pkgrel`. libalpm requires the `-`; makepkg forbids `:`, `/`, `-` and
 * whitespace inside pkgver and pkgrel, and the epoch is an integer. Exactly one `-` matters to us:
 * libalpm splits the db directory name on the last two hyphens.
 */
const VERSION_RE = /^(?:[0-9]+:)?[\x21-\x7e]+-[\x21-\x7e]+$/;
const VERSION_PART_FORBIDDEN = /[:/-]/;
/** Architectures: makepkg allows alphanumerics and `_` (lint_pkgbuild/arch.sh); also a path segment here. */
const ARCH_RE = /^[A-Za-z0-9_]+$/;

const MAX_FIELD = 64 * 1024;

export function parsePkgInfo(text: string): PkgInfo {
  if (text.includes('\0')) throw new InvalidPackageError('.PKGINFO contains a NUL byte; it must be text');
  const single: Partial<Record<SingleKey, string>> = {};
  const lists = Object.fromEntries(LIST_KEYS.map((k) => [k, [] as string[]])) as unknown as Record<ListKey, string[]>;
  const lines = text.split('\n');
  for (const line of lines) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.indexOf(' ');
    // libalpm skips malformed lines with a debug message; so do we (they carry no field).
    if (space <= 0 || line.slice(space, space + 3) !== ' = ') continue;
    const key = line.slice(0, space);
    const value = line.slice(space + 3);
    if (value.length > MAX_FIELD) throw new InvalidPackageError(`.PKGINFO: value of "${key}" is longer than ${MAX_FIELD} bytes`);
    if ((SINGLE_KEYS as readonly string[]).includes(key)) single[key as SingleKey] = value;
    else if ((LIST_KEYS as readonly string[]).includes(key)) lists[key as ListKey].push(value);
    // Unknown keys are ignored, as libalpm does (forward compatibility).
  }
  const pkgname = single.pkgname;
  const pkgver = single.pkgver;
  const arch = single.arch;
  const missing = (['pkgname', 'pkgver', 'arch'] as const).filter((k) => !single[k]);
  if (missing.length > 0) throw new InvalidPackageError(`.PKGINFO is missing ${missing.map((k) => `"${k}"`).join(', ')}`);
  validateName(pkgname!);
  validateVersion(pkgver!);
  if (!ARCH_RE.test(arch!)) {
    throw new InvalidPackageError(`.PKGINFO: arch "${arch}" may only contain ASCII letters, digits and "_"`);
  }
  if (single.pkgbase !== undefined && single.pkgbase !== '' && !NAME_RE.test(single.pkgbase)) {
    throw new InvalidPackageError(`.PKGINFO: pkgbase "${single.pkgbase}" is not a valid package name`);
  }
  for (const k of ['size', 'builddate'] as const) {
    const v = single[k];
    if (v !== undefined && v !== '' && !/^[0-9]+$/.test(v)) throw new InvalidPackageError(`.PKGINFO: ${k} "${v}" is not a non-negative integer`);
  }
  if (lists.xdata.length > 0 && lists.xdata.some((x) => !x.includes('='))) {
    throw new InvalidPackageError('.PKGINFO: every xdata value must be "key=value"');
  }
  return { pkgname: pkgname!, pkgver: pkgver!, arch: arch!, single, lists };
}

function validateName(name: string): void {
  if (name.startsWith('.') || name.startsWith('-')) {
    throw new InvalidPackageError(`.PKGINFO: pkgname "${name}" must not start with "." or "-"`);
  }
  if (!NAME_RE.test(name)) {
    throw new InvalidPackageError(`.PKGINFO: pkgname "${name}" may only contain ASCII letters, digits and "@._+-"`);
  }
}

function validateVersion(ver: string): void {
  if (!ver.includes('-')) {
    throw new InvalidPackageError(`.PKGINFO: pkgver "${ver}" has no pkgrel; it must be "[epoch:]pkgver-pkgrel"`);
  }
  if (!VERSION_RE.test(ver)) {
    throw new InvalidPackageError(`.PKGINFO: pkgver "${ver}" must be "[epoch:]pkgver-pkgrel" in printable ASCII without spaces`);
  }
  const noEpoch = ver.replace(/^[0-9]+:/, '');
  const dash = noEpoch.lastIndexOf('-');
  const [v, rel] = [noEpoch.slice(0, dash), noEpoch.slice(dash + 1)];
  if (VERSION_PART_FORBIDDEN.test(v) || VERSION_PART_FORBIDDEN.test(rel)) {
    throw new InvalidPackageError(`.PKGINFO: pkgver "${ver}": pkgver and pkgrel must not contain ":", "/" or "-"`);
  }
}

/** The bare package name of a dependency string like `bash>=5` or `libfoo.so=1-64`. */
export function bareName(dep: string): string {
  return dep.split(/[<>=]/, 1)[0] ?? dep;
}
