/**
 * Project names and distribution file names.
 * - Names: PEP 503 normalization; valid names per the core metadata spec ("Name" field).
 *   https://packaging.python.org/en/latest/specifications/name-normalization/
 * - Wheels: https://packaging.python.org/en/latest/specifications/binary-distribution-format/
 * - sdists: https://packaging.python.org/en/latest/specifications/source-distribution-format/ (PEP 625)
 */
import { InvalidPackageError } from '../../src/core/errors';

/** PEP 503: lower-case, every run of `-`, `_` and `.` becomes one `-`. */
export function normalizeName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

export function isNormalizedName(name: string): boolean {
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) && !name.includes('--');
}

const VALID_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/** A project name as the core metadata spec allows it (ASCII letters, digits, `.-_` inside). */
export function isValidProjectName(name: string): boolean {
  return name.length <= 200 && VALID_NAME.test(name);
}

export interface WheelFilename {
  /** Distribution part as written (`Foo_Bar`). */
  name: string;
  normalizedName: string;
  /** Version part as written (PEP 427 escapes `-` as `_`; not normalized here). */
  version: string;
  buildTag?: { number: number; rest: string };
  /** Compressed tag sets expanded: `py2.py3` -> ['py2', 'py3']. */
  pythonTags: string[];
  abiTags: string[];
  platformTags: string[];
}

/**
 * `{dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl`: 5 dash-separated parts, or 6
 * when there is a build tag, which must start with a digit.
 */
export function parseWheelFilename(filename: string): WheelFilename {
  if (!filename.toLowerCase().endsWith('.whl')) throw new InvalidPackageError(`wheel file name "${filename}" does not end with .whl`);
  const parts = filename.slice(0, -4).split('-');
  if (parts.length !== 5 && parts.length !== 6) {
    throw new InvalidPackageError(
      `wheel file name "${filename}" must have 5 or 6 dash-separated parts ({name}-{version}(-{build})?-{python}-{abi}-{platform}.whl), found ${parts.length}`,
    );
  }
  if (parts.some((p) => p === '')) throw new InvalidPackageError(`wheel file name "${filename}" has an empty part`);
  const name = parts[0]!;
  // Wheel names escape runs of -_. as '_' (no '-' can appear); older wheels may still use '.' or upper case.
  if (!/^[A-Za-z0-9._]+$/.test(name) || name.includes('__')) {
    throw new InvalidPackageError(`wheel file name "${filename}": invalid project name part "${name}"`);
  }
  const wheel: WheelFilename = {
    name,
    normalizedName: normalizeName(name),
    version: parts[1]!,
    pythonTags: [],
    abiTags: [],
    platformTags: [],
  };
  let rest = parts.slice(2);
  if (parts.length === 6) {
    const m = /^([0-9]+)(.*)$/.exec(parts[2]!);
    if (!m) throw new InvalidPackageError(`wheel file name "${filename}": build tag "${parts[2]}" must start with a digit`);
    wheel.buildTag = { number: Number(m[1]), rest: m[2]! };
    rest = parts.slice(3);
  }
  const split = (field: string, what: string): string[] => {
    const tags = field.split('.');
    if (tags.some((t) => !/^[A-Za-z0-9_]+$/.test(t))) {
      throw new InvalidPackageError(`wheel file name "${filename}": invalid ${what} tag "${field}"`);
    }
    return tags;
  };
  wheel.pythonTags = split(rest[0]!, 'python');
  wheel.abiTags = split(rest[1]!, 'abi');
  wheel.platformTags = split(rest[2]!, 'platform');
  return wheel;
}

export type SdistExtension = '.tar.gz' | '.zip';

/** PEP 527 limits new sdists to .tar.gz and .zip (PyPI refuses .tar.bz2, .tgz, ...). */
export function sdistExtension(filename: string): SdistExtension | null {
  const lower = filename.toLowerCase();
  if (lower.endsWith('.tar.gz')) return '.tar.gz';
  if (lower.endsWith('.zip')) return '.zip';
  return null;
}

/** Does the name look like `{name}-{version}.tar.gz|.zip` (cheap check used by detect)? */
export function looksLikeSdistFilename(filename: string): boolean {
  const ext = sdistExtension(filename);
  if (!ext) return false;
  const stem = filename.slice(0, -ext.length);
  const dash = stem.indexOf('-');
  return dash > 0 && dash < stem.length - 1;
}

export interface SdistFilename {
  name: string;
  version: string;
  extension: SdistExtension;
}

/**
 * Split an sdist file name into project and version. With `knownName` (the metadata Name)
 * legacy names with hyphens are split at the first `-` after which the prefix normalizes to
 * that name (`zope.interface-5.0.tar.gz`, `foo-bar-1.0.tar.gz`); without it the PEP 625 form
 * is assumed: exactly one `-`, between the name and the version.
 */
export function parseSdistFilename(filename: string, knownName?: string): SdistFilename {
  const extension = sdistExtension(filename);
  if (!extension) throw new InvalidPackageError(`source distribution file name "${filename}" must end with .tar.gz or .zip`);
  const stem = filename.slice(0, -extension.length);
  if (knownName !== undefined) {
    const want = normalizeName(knownName);
    for (let i = stem.indexOf('-'); i > 0; i = stem.indexOf('-', i + 1)) {
      if (normalizeName(stem.slice(0, i)) === want) return { name: stem.slice(0, i), version: stem.slice(i + 1), extension };
    }
    throw new InvalidPackageError(
      `project name in file name "${filename}" differs from the metadata Name "${knownName}": ` +
        `the file name must start with the project name (normalized "${want}") followed by "-{version}"`,
    );
  }
  const parts = stem.split('-');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new InvalidPackageError(`source distribution file name "${filename}" is not {name}-{version}${extension} with exactly one "-"`);
  }
  return { name: parts[0], version: parts[1], extension };
}
