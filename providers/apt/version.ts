/**
 * Debian version syntax and ordering, following Debian Policy §5.6.12 and dpkg's
 * lib/dpkg/parsehelp.c (parseversion) and lib/dpkg/version.c (verrevcmp), as summarised
 * in docs/formats/apt.md#version-order. Checked against `dpkg --compare-versions` in the unit tests.
 */

export interface DebianVersion {
  epoch: number;
  upstream: string;
  /** '' when the version has no `-revision` (compares equal to '0'). */
  revision: string;
}

const MAX_EPOCH = 2 ** 31 - 1; // dpkg stores the epoch in an int

/**
 * Split and validate a version string. Returns the parts, or a message saying what is
 * wrong. Stricter than dpkg where dpkg only warns (upstream must start with a digit,
 * only the characters Policy allows), because such versions sort unpredictably.
 */
export function parseDebianVersion(version: string): DebianVersion | string {
  if (version.length === 0) return 'version is empty';
  if (/\s/.test(version)) return 'version contains whitespace';
  let rest = version;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const e = rest.slice(0, colon);
    if (e === '') return 'epoch before ":" is empty';
    if (!/^[0-9]+$/.test(e)) return `epoch "${e}" is not a number`;
    epoch = Number(e);
    if (epoch > MAX_EPOCH) return `epoch ${e} is too big`;
    rest = rest.slice(colon + 1);
    if (rest === '') return 'nothing after the epoch colon';
  }
  let revision = '';
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) {
    revision = rest.slice(hyphen + 1);
    rest = rest.slice(0, hyphen);
    if (revision === '') return 'revision after the last "-" is empty';
  }
  const upstream = rest;
  if (upstream === '') return 'upstream version is empty';
  if (!/^[0-9]/.test(upstream)) return `upstream version "${upstream}" does not start with a digit`;
  // The first ':' ends the epoch and the last '-' starts the revision, so both may still
  // appear inside the upstream part (Policy allows them there).
  const badUp = /[^A-Za-z0-9.+~:-]/.exec(upstream);
  if (badUp) return `upstream version "${upstream}" contains "${badUp[0]}" (allowed: letters, digits, . + ~ - :)`;
  const badRev = /[^A-Za-z0-9.+~]/.exec(revision);
  if (badRev) return `revision "${revision}" contains "${badRev[0]}" (allowed: letters, digits, . + ~)`;
  return { epoch, upstream, revision };
}

/** Lenient split used for ordering, so comparison never throws on odd stored data. */
function splitLoose(version: string): DebianVersion {
  let rest = version.trim();
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0 && /^[0-9]+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) return { epoch, upstream: rest.slice(0, hyphen), revision: rest.slice(hyphen + 1) };
  return { epoch, upstream: rest, revision: '' };
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** dpkg's character weight: '~' < end of string < letters < everything else. */
function order(c: number): number {
  if (c === 0 || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 0x7e) return -1;
  return c + 256;
}

/** dpkg verrevcmp: alternate non-digit runs (by `order`) and digit runs (numerically). */
function verrevcmp(a: string, b: string): number {
  // charCodeAt past the end gives NaN; treat it as the terminating 0 like C does.
  const at = (s: string, i: number) => (i < s.length ? s.charCodeAt(i) : 0);
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(at(a, i))) || (j < b.length && !isDigit(at(b, j)))) {
      const ac = order(at(a, i));
      const bc = order(at(b, j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (at(a, i) === 0x30) i++;
    while (at(b, j) === 0x30) j++;
    while (isDigit(at(a, i)) && isDigit(at(b, j))) {
      if (!firstDiff) firstDiff = at(a, i) - at(b, j);
      i++;
      j++;
    }
    if (isDigit(at(a, i))) return 1;
    if (isDigit(at(b, j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** Debian version order: negative when `a` is older than `b`, 0 when equal. */
export function compareDebianVersions(a: string, b: string): number {
  const va = splitLoose(a);
  const vb = splitLoose(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  const up = verrevcmp(va.upstream, vb.upstream);
  if (up !== 0) return Math.sign(up);
  return Math.sign(verrevcmp(va.revision, vb.revision));
}

/** The version as it appears in pool file names: without the epoch (docs/formats/apt.md#version-order). */
export function versionWithoutEpoch(version: string): string {
  const colon = version.indexOf(':');
  return colon >= 0 ? version.slice(colon + 1) : version;
}
