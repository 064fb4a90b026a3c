/**
 * The APKINDEX record of one package (docs/formats/apk.md#pkginfo, #apkindex; apk-tools src/package.c
 * apk_pkg_write_index_header): fields in apk's writer order, T:/U:/L: always present,
 * optional ones only when set, D:/p:/i: space-separated. The stored record ends with a
 * newline but no blank line; the index builder separates records.
 */
import type { PackageMeta } from '../../src/core/provider';
import type { ApkPackage } from './parse';
import { single, tokens } from './pkginfo';

/** The fields of a package its record is made of. */
export type ApkRecordInput = Pick<ApkPackage, 'pkginfo' | 'checksum' | 'name' | 'version' | 'arch' | 'size'>;

export function renderEntry(pkg: ApkRecordInput): string {
  const info = pkg.pkginfo;
  const lines = [`C:${pkg.checksum}`, `P:${pkg.name}`, `V:${pkg.version}`, `A:${pkg.arch}`, `S:${pkg.size}`, `I:${single(info, 'size') ?? '0'}`];
  lines.push(`T:${single(info, 'pkgdesc') ?? ''}`, `U:${single(info, 'url') ?? ''}`, `L:${single(info, 'license') ?? ''}`);
  const optional: Array<[string, string | undefined]> = [
    ['o', single(info, 'origin')],
    ['m', single(info, 'maintainer')],
    ['t', single(info, 'builddate')],
    ['c', single(info, 'commit')],
    ['k', single(info, 'provider_priority')],
    ['D', tokens(info, 'depend').join(' ')],
    ['p', tokens(info, 'provides').join(' ')],
    ['i', tokens(info, 'install_if').join(' ')],
  ];
  for (const [letter, value] of optional) {
    // apk omits a zero build time / provider priority, and empty values.
    if (value === undefined || value === '' || ((letter === 't' || letter === 'k') && Number(value) === 0)) continue;
    lines.push(`${letter}:${value}`);
  }
  return lines.join('\n') + '\n';
}

/** Bare package names of `depend` (no version constraints, conflicts or so:/cmd:/pc: virtuals). */
export function dependNames(pkg: ApkPackage): string[] {
  const names = tokens(pkg.pkginfo, 'depend')
    .filter((d) => !d.startsWith('!'))
    .map((d) => d.split(/[<>=~]/, 1)[0]!)
    .filter((n) => n !== '' && !n.includes(':'));
  return [...new Set(names)];
}

export function packageMeta(pkg: ApkPackage): PackageMeta {
  const info = pkg.pkginfo;
  const meta: PackageMeta = {
    description: single(info, 'pkgdesc'),
    url: single(info, 'url'),
    license: single(info, 'license'),
    depends: dependNames(pkg),
    origin: single(info, 'origin'),
    maintainer: single(info, 'maintainer'),
    checksum: pkg.checksum,
    installedSize: Number(single(info, 'size') ?? 0),
  };
  if (pkg.signatures.length) meta.signatures = pkg.signatures;
  for (const k of Object.keys(meta)) if (meta[k] === undefined) delete meta[k];
  return meta;
}
