/**
 * The Packages stanza of one .deb (docs/formats/apt.md#packages-stanzas) and the names derived from its control
 * file. The stanza is what `dpkg-scanpackages` writes for the same file: every control
 * field, plus Filename, Size and hashes, in dpkg's field order for Packages indices
 * (Dpkg::Control::FieldsCore, CTRL_INDEX_PKG) with unknown fields sorted after them,
 * empty fields dropped and names capitalized as dpkg does (apt reads names
 * case-insensitively, so this changes nothing for clients). We add SHA512, which
 * dpkg-scanpackages 1.21 does not write.
 */
import type { FileHashes, PackageMeta } from '../../src/core/provider';
import { renderField, type Control } from './control';
import type { DebPackage } from './parse';
import { versionWithoutEpoch } from './version';

/** dpkg 1.21's output order for Packages stanzas, with SHA512 placed after SHA256. */
const FIELD_ORDER = [
  'Package', 'Package-Type', 'Source', 'Version', 'Kernel-Version', 'Built-For-Profiles', 'Auto-Built-Package',
  'Architecture', 'Subarchitecture', 'Installer-Menu-Item', 'Build-Essential', 'Essential', 'Protected', 'Origin',
  'Bugs', 'Maintainer', 'Installed-Size', 'Pre-Depends', 'Depends', 'Recommends', 'Suggests', 'Enhances',
  'Conflicts', 'Breaks', 'Replaces', 'Provides', 'Built-Using', 'Static-Built-Using', 'Filename', 'Size', 'MD5sum',
  'SHA1', 'SHA256', 'SHA512', 'Section', 'Priority', 'Multi-Arch', 'Homepage', 'Description', 'Tag', 'Task',
];
const RANK = new Map(FIELD_ORDER.map((f, i) => [f, i]));
/** Fields the repository computes; a control file's own copies are replaced, as dpkg-scanpackages does. */
const COMPUTED = new Set(['filename', 'size', 'md5sum', 'sha1', 'sha256', 'sha512']);

/** dpkg's field names that its generic capitalization would spell differently. */
const SPECIAL_NAMES = new Map(
  ['ButAutomaticUpgrades', 'MD5sum', 'No-Support-for-Architecture-all', 'NotAutomatic', 'SHA1', 'SHA256', 'SHA512'].map((n) => [n.toLowerCase(), n]),
);

/** Dpkg::Control::FieldsCore::field_capitalize: "XB-custom-FIELD" -> "Xb-Custom-Field". */
export function capitalizeField(name: string): string {
  const lc = name.toLowerCase();
  return SPECIAL_NAMES.get(lc) ?? lc.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('-');
}

/** `<name>_<version without epoch>_<arch>.deb` (docs/formats/apt.md#repository-layout). */
export function debFilename(pkg: Pick<DebPackage, 'name' | 'version' | 'arch'>): string {
  return `${pkg.name}_${versionWithoutEpoch(pkg.version)}_${pkg.arch}.deb`;
}

/** Pool directory prefix: first letter, or "lib" plus the fourth letter for lib* sources. */
export function poolPrefix(source: string): string {
  return source.startsWith('lib') && source.length > 3 ? source.slice(0, 4) : source.slice(0, 1);
}

/** `pool/<component>/<prefix>/<source>/<filename>`. */
export function poolPath(component: string, pkg: Pick<DebPackage, 'name' | 'version' | 'arch' | 'source'>): string {
  return `pool/${component}/${poolPrefix(pkg.source)}/${pkg.source}/${debFilename(pkg)}`;
}

/** The stanza, ending in "\n" (no blank line: the index builder separates stanzas). */
export function renderStanza(control: Control, filename: string, size: number, hashes: FileHashes): string {
  const fields = control.fields
    .filter((f) => !COMPUTED.has(f.name.toLowerCase()) && /\S/.test(f.value))
    .map((f) => ({ name: capitalizeField(f.name), value: f.value }));
  fields.push({ name: 'Filename', value: filename }, { name: 'Size', value: String(size) });
  // The provider declares md5, sha1 and sha512 (`digests`), so the core always supplies them.
  for (const [name, value] of [['MD5sum', hashes.md5], ['SHA1', hashes.sha1], ['SHA256', hashes.sha256], ['SHA512', hashes.sha512]] as const) {
    if (value) fields.push({ name, value });
  }
  // dpkg compares names exactly against its list; unknown ones sort by byte order.
  fields.sort((a, b) => {
    const ra = RANK.get(a.name);
    const rb = RANK.get(b.name);
    if (ra !== undefined && rb !== undefined) return ra - rb;
    if (ra !== undefined) return -1;
    if (rb !== undefined) return 1;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return fields.map((f) => renderField(f.name, f.value)).join('');
}

/** Bare package names of a relationship field: "a (>= 1) | b:any [amd64] <!nocheck>, c" -> a, b, c. */
export function relationNames(value: string | undefined): string[] {
  if (!value) return [];
  const names: string[] = [];
  for (const alt of value.split(/[,|]/)) {
    const m = /^\s*([a-z0-9][a-z0-9+.-]*)/.exec(alt);
    if (m) names.push(m[1]);
  }
  return names;
}

/** Display metadata for the UI and API. */
export function debMeta(pkg: DebPackage): PackageMeta {
  const c = pkg.control;
  const depends = [...new Set([...relationNames(c.get('Pre-Depends')), ...relationNames(c.get('Depends'))])];
  const installed = c.get('Installed-Size');
  const control: Record<string, string> = {};
  for (const f of c.fields) control[f.name] = f.value;
  const meta: PackageMeta = {
    description: c.firstLine('Description') ?? '',
    depends,
    maintainer: c.get('Maintainer'),
    section: c.get('Section'),
    priority: c.get('Priority'),
    source: pkg.source,
    installedSize: installed !== undefined && /^[0-9]+$/.test(installed) ? Number(installed) : undefined,
    control,
  };
  const homepage = c.get('Homepage');
  if (homepage) meta.url = homepage;
  // Binary packages carry no license field; some builders add a custom one.
  const license = c.get('License') ?? c.get('XB-License') ?? c.get('X-License');
  if (license) meta.license = license;
  for (const k of Object.keys(meta)) if (meta[k] === undefined) delete meta[k];
  return meta;
}
