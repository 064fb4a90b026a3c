import { BadRequestError } from './errors';

/** `^` sorts after the version it follows in rpm (1.0^git1 > 1.0), `~` before (apt, rpm). */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._+~^-]*$/;
/**
 * Unicode bidirectional formatting characters (UAX #9): embeddings and overrides U+202A-U+202E,
 * isolates U+2066-U+2069, the marks U+200E/U+200F and U+061C (Arabic letter mark). They are
 * invisible and reorder the text around them, so `evil\u202Egpj.exe` displays as `evilexe.jpg`
 * (CVE-2021-42574 "Trojan Source"): refused like control characters.
 */
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
const BIDI_G = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;

/** Does `s` contain a bidirectional formatting character? */
export function hasBidiControl(s: string): boolean {
  return BIDI.test(s);
}

/** Repository names: letters, digits, `.`, `_`, `-`, `+`; no `/`, no `..`; 1-64 characters. */
export function checkRepoName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new BadRequestError('reponame is required');
  if (name.length > 64) throw new BadRequestError(`reponame is longer than 64 characters`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) || name.includes('..')) {
    throw new BadRequestError(`reponame "${printable(name)}" may only contain letters, digits, ".", "_", "-", "+" and must start with a letter or digit`);
  }
  return name;
}

/** Package names and versions as stored (providers check their format's own stricter rules first). */
export function checkPackageToken(kind: 'name' | 'version', value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new BadRequestError(`${kind} is required`);
  if (BIDI.test(value)) throw new BadRequestError(`${kind} "${printable(value)}" contains a bidirectional control character`);
  if (value.length > 200) throw new BadRequestError(`${kind} is longer than 200 characters`);
  // `:` appears in epochs (apt 1:2.0, pacman 1:1.0-1).
  if (!SAFE.test(value.replace(/:/g, '')) || value.includes('..') || value.includes('/')) {
    throw new BadRequestError(`${kind} "${printable(value)}" may only contain letters, digits, ".", "_", "-", "+", "~", "^", ":" and must start with a letter or digit`);
  }
  return value;
}

/** A single path segment safe to store and serve: no separators, NUL or control characters, not `.`/`..`. */
export function checkFileName(name: string, what = 'file name'): string {
  if (name === '') throw new BadRequestError(`${what} is empty`);
  if (Buffer.byteLength(name) > 255) throw new BadRequestError(`${what} is longer than 255 bytes`);
  if (/[\x00-\x1f\x7f/\\]/.test(name)) throw new BadRequestError(`${what} "${printable(name)}" contains a path separator or control character`);
  if (BIDI.test(name)) throw new BadRequestError(`${what} "${printable(name)}" contains a bidirectional control character (it would display reordered)`);
  if (name === '.' || name === '..' || name.startsWith('.')) throw new BadRequestError(`${what} "${printable(name)}" must not start with "."`);
  return name;
}

/** A repository-relative path made of safe segments. */
export function checkRelativePath(p: string): string {
  if (p.length > 400) throw new BadRequestError('path is longer than 400 characters');
  for (const seg of p.split('/')) checkFileName(seg, 'path segment');
  return p;
}

/** For messages: control characters escaped, long values cut. */
export function printable(s: string): string {
  const escaped = s
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(BIDI_G, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > 80 ? `${escaped.slice(0, 77)}...` : escaped;
}
