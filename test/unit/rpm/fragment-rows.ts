/**
 * Rows of rpm entries made of fragments shaped like createrepo_c's (no rpm file behind them), for
 * the index builder's tests; the text outside ASCII checks that segments are cut between
 * entries, never inside a character.
 */
import type { RevRow } from '../../helpers/keyed-entries';

export function fragmentRow(id: number, name: string, version = '1.0-1', changelog = `- build ${id}`): RevRow {
  const [ver, rel] = version.split('-');
  const v = `<version epoch="0" ver="${ver}" rel="${rel}"/>`;
  const primary = `<package type="rpm">\n  <name>${name}</name>\n  <arch>x86_64</arch>\n  ${v}\n  <summary>${name}: Grüße, 日本語 ✓</summary>\n  <format>\n    <file>/usr/bin/${name}</file>\n  </format>\n</package>\n`;
  const filelists = `<package pkgid="${String(id).padStart(64, '0')}" name="${name}" arch="x86_64">\n  ${v}\n  <file>/usr/bin/${name}</file>\n  <file>/usr/share/doc/${name}/README</file>\n</package>\n`;
  const other = `<package pkgid="${String(id).padStart(64, '0')}" name="${name}" arch="x86_64">\n  ${v}\n  <changelog author="Ünï Packager &lt;p@example.org&gt;" date="1736121600">${changelog}</changelog>\n</package>\n`;
  return { id, rev: 0, name, version, arch: 'x86_64', filename: `${name}-${version}.x86_64.rpm`, path: `Packages/${name}-${version}.x86_64.rpm`, partition: 'g:', entry: JSON.stringify({ primary, filelists, other }), meta: {}, size: 1, hashes: { sha256: '0'.repeat(64) }, createdAt: new Date(1_700_000_000_000 + id * 1000), yanked: null };
}

export const fragmentRows = (n: number) => Array.from({ length: n }, (_, i) => fragmentRow(i + 1, `pkg${String(i).padStart(4, '0')}`));
