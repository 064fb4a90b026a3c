/**
 * `.PKGINFO` of an apk v2 package (docs/formats/apk.md#pkginfo; apk-tools src/package.c read_info_line):
 * one `key = value` per line, `#` starts a comment, lines without " = " are ignored, a key
 * may repeat (depend, provides, install_if, replaces ... are lists).
 */
import { InvalidPackageError } from '../../src/core/errors';
import { isValidApkVersion } from './version';

export type PkgInfo = Map<string, string[]>;

export function parsePkgInfo(text: string): PkgInfo {
  const info: PkgInfo = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sep = line.indexOf(' = ');
    if (sep < 0) continue;
    const key = line.slice(0, sep);
    const value = line.slice(sep + 3);
    const list = info.get(key);
    if (list) list.push(value);
    else info.set(key, [value]);
  }
  return info;
}

/** The value apk keeps for a single-valued key: the last one (each line overwrites). */
export function single(info: PkgInfo, key: string): string | undefined {
  const v = info.get(key);
  return v?.[v.length - 1];
}

/** All space-separated tokens of a list key (abuild writes one per line; apk accepts several per line). */
export function tokens(info: PkgInfo, key: string): string[] {
  return (info.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter((t) => t !== '');
}

// apk's package-name characters (apk_ctype PKGNAME); no leading '.' or '-' so names stay file-name safe.
const NAME_RE = /^[A-Za-z0-9_+][A-Za-z0-9_+.-]{0,127}$/;
// Architectures are single path segments (x86_64, aarch64, armv7, noarch ...).
export const ARCH_RE = /^[A-Za-z0-9_]{1,32}$/;
const NUMBER_RE = /^[0-9]{1,19}$/;

export interface CoreFields {
  name: string;
  version: string;
  arch: string;
}

/** Check the fields the repository relies on; message says exactly what is wrong. */
export function validatePkgInfo(info: PkgInfo): CoreFields {
  const need = (key: string): string => {
    const v = single(info, key);
    if (v === undefined || v === '') throw new InvalidPackageError(`.PKGINFO has no ${key}`);
    return v;
  };
  const name = need('pkgname');
  const version = need('pkgver');
  const arch = need('arch');
  if (!NAME_RE.test(name)) throw new InvalidPackageError(`.PKGINFO pkgname "${name}" is not a valid apk package name`);
  if (!isValidApkVersion(version)) throw new InvalidPackageError(`.PKGINFO pkgver "${version}" is not a valid apk version (e.g. 1.2.3-r0)`);
  if (!ARCH_RE.test(arch)) throw new InvalidPackageError(`.PKGINFO arch "${arch}" is not a valid architecture name`);
  for (const key of ['size', 'builddate', 'provider_priority']) {
    const v = single(info, key);
    if (v !== undefined && !NUMBER_RE.test(v)) throw new InvalidPackageError(`.PKGINFO ${key} "${v}" is not a non-negative integer`);
  }
  const datahash = single(info, 'datahash');
  if (datahash !== undefined && !/^[0-9a-fA-F]{64}$/.test(datahash)) {
    throw new InvalidPackageError(`.PKGINFO datahash "${datahash}" is not a hex SHA-256`);
  }
  return { name, version, arch };
}
