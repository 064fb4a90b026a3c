/**
 * PEP 440 versions: parsing, canonical form and ordering.
 * Spec: https://packaging.python.org/en/latest/specifications/version-specifiers/
 * (the "Appendix: Parsing version strings with regular expressions" grammar, and the
 * ordering rules of "Summary of permitted suffixes and relative ordering").
 */

export interface Pep440Version {
  epoch: number;
  release: number[];
  /** 'a' | 'b' | 'rc' with its number. */
  pre?: { label: 'a' | 'b' | 'rc'; n: number };
  post?: number;
  dev?: number;
  /** Local segment parts, lower-cased; numeric parts as numbers. */
  local?: (number | string)[];
}

// The permissive grammar of the spec (accepts every alternative spelling that normalizes).
const VERSION_RE = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?' +
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?' +
    '\\s*$',
  'i',
);

// Digit runs are compared as integers; Number is exact up to 2^53, far beyond real versions.
const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s));

/** Parse a PEP 440 version; null when the string is not one. */
export function parseVersion(text: string): Pep440Version | null {
  if (text.length > 256) return null; // no real version is this long; keeps the regex cheap
  const m = VERSION_RE.exec(text);
  if (!m?.groups) return null;
  const g = m.groups;
  const v: Pep440Version = {
    epoch: num(g.epoch),
    release: g.release!.split('.').map((p) => Number(p)),
  };
  if (g.pre_l !== undefined) {
    const l = g.pre_l.toLowerCase();
    const label = l === 'alpha' || l === 'a' ? 'a' : l === 'beta' || l === 'b' ? 'b' : 'rc';
    v.pre = { label, n: num(g.pre_n) };
  }
  if (g.post !== undefined) v.post = num(g.post_n1 ?? g.post_n2);
  if (g.dev !== undefined) v.dev = num(g.dev_n);
  if (g.local !== undefined) {
    v.local = g.local
      .toLowerCase()
      .split(/[-_.]/)
      .map((p) => (/^[0-9]+$/.test(p) ? Number(p) : p));
  }
  return v;
}

/** The normalized spelling (`1.0-RC1` -> `1.0rc1`, `1.0-1` -> `1.0.post1`). Release zeros are kept. */
export function formatVersion(v: Pep440Version): string {
  let s = v.epoch ? `${v.epoch}!` : '';
  s += v.release.join('.');
  if (v.pre) s += `${v.pre.label}${v.pre.n}`;
  if (v.post !== undefined) s += `.post${v.post}`;
  if (v.dev !== undefined) s += `.dev${v.dev}`;
  if (v.local) s += `+${v.local.join('.')}`;
  return s;
}

/** Normalized form of a version string, or null if it is not PEP 440. */
export function normalizeVersion(text: string): string | null {
  const v = parseVersion(text);
  return v ? formatVersion(v) : null;
}

const cmp = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);
const PRE_RANK = { a: 0, b: 1, rc: 2 } as const;

/** Pre-release slot: a dev-only release sorts before its pre-releases; a final release after them. */
function preKey(v: Pep440Version): [number, number, number] {
  if (v.pre) return [0, PRE_RANK[v.pre.label], v.pre.n];
  if (v.post === undefined && v.dev !== undefined) return [-1, 0, 0];
  return [1, 0, 0];
}

function compareLocal(a?: (number | string)[], b?: (number | string)[]): number {
  if (!a || !b) return cmp(a ? 1 : 0, b ? 1 : 0); // no local segment sorts first
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return cmp(x, y);
    } else if (typeof x === 'number') return 1; // numeric parts sort after alphanumeric ones
    else if (typeof y === 'number') return -1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return cmp(a.length, b.length);
}

/** Total order of PEP 440; trailing zeros of the release do not matter (1.0 == 1.0.0). */
export function comparePep440(a: Pep440Version, b: Pep440Version): number {
  let c = cmp(a.epoch, b.epoch);
  if (c) return c;
  const n = Math.max(a.release.length, b.release.length);
  for (let i = 0; i < n; i++) {
    c = cmp(a.release[i] ?? 0, b.release[i] ?? 0);
    if (c) return c;
  }
  const pa = preKey(a);
  const pb = preKey(b);
  for (let i = 0; i < 3; i++) {
    c = cmp(pa[i]!, pb[i]!);
    if (c) return c;
  }
  c = cmp(a.post ?? -1, b.post ?? -1); // no post-release sorts before .post0
  if (c) return c;
  c = cmp(a.dev ?? Infinity, b.dev ?? Infinity); // a dev release sorts before the same without .dev
  if (c) return c;
  return compareLocal(a.local, b.local);
}

/**
 * Compare two version strings. Strings that are not PEP 440 (only possible for rows stored
 * by other means) sort before every valid version, among themselves by code points.
 */
export function compareVersionStrings(a: string, b: string): number {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (va && vb) return comparePep440(va, vb) || (a < b ? -1 : a > b ? 1 : 0);
  if (va) return 1;
  if (vb) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** PEP 440 equality (what `packaging.version.Version.__eq__` means): `1.0` equals `1.0.0`, `1.0-1` equals `1.0.post1`. */
export function versionsEqual(a: string, b: string): boolean {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  return !!va && !!vb && comparePep440(va, vb) === 0;
}
