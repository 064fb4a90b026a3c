/**
 * Core metadata (wheel `*.dist-info/METADATA`, sdist `PKG-INFO`).
 * Spec: https://packaging.python.org/en/latest/specifications/core-metadata/
 * Format: RFC 822 style headers, UTF-8, continuation lines start with whitespace; from
 * Metadata-Version 2.1 the long description may be the message body after a blank line.
 */
import { InvalidPackageError } from '../../src/core/errors';
import { isValidProjectName } from './names';
import { parseVersion } from './version';

export interface CoreMetadata {
  metadataVersion: string;
  name: string;
  version: string;
  summary?: string;
  requiresPython?: string;
  requiresDist: string[];
  license?: string;
  licenseExpression?: string;
  homePage?: string;
  /** `Project-URL: Label, URL` pairs. */
  projectUrls: Record<string, string>;
  author?: string;
  authorEmail?: string;
  /** Field names listed as `Dynamic` (lower-cased). */
  dynamic: string[];
  description?: string;
  descriptionContentType?: string;
}

/** Header name (lower-case) -> values in order. */
export type HeaderMap = Map<string, string[]>;

/** Split the header block into fields and return the body (text after the first blank line). */
export function parseHeaders(text: string, what: string): { headers: HeaderMap; body: string } {
  const headers: HeaderMap = new Map();
  const lines = text.split(/\r?\n/);
  const fields: { key: string; value: string }[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') break; // end of headers
    if (/^[ \t]/.test(line)) {
      const last = fields[fields.length - 1];
      if (!last) throw new InvalidPackageError(`${what}: line ${i + 1} is a continuation line with no field before it`);
      // keep the line break: a legacy multi-line Description is folded this way
      last.value += '\n' + line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || !/^[A-Za-z0-9-]+$/.test(line.slice(0, colon))) {
      throw new InvalidPackageError(`${what}: line ${i + 1} is not a "Field: value" header: ${JSON.stringify(line.slice(0, 80))}`);
    }
    fields.push({ key: line.slice(0, colon).toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  for (const f of fields) {
    const list = headers.get(f.key);
    if (list) list.push(f.value);
    else headers.set(f.key, [f.value]);
  }
  return { headers, body: lines.slice(i + 1).join('\n') };
}

/**
 * Legacy multi-line Description header: distutils indents continuation lines with 8 spaces,
 * the spec with 7 spaces and `|` (to keep blank and indented lines). Undo either.
 */
function unfoldDescription(value: string): string {
  return value
    .split('\n')
    .map((l, i) => (i === 0 ? l : l.replace(/^[ \t]{1,8}\|?/, '')))
    .join('\n');
}

const SUPPORTED_MAJOR = new Set(['1', '2']);

/** The first bare project name of a PEP 508 requirement (`foo[bar]>=1; extra == "x"` -> `foo`). */
export function requirementName(req: string): string | null {
  const m = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/.exec(req);
  return m ? m[1]! : null;
}

/** Is the requirement only needed for an extra (`; extra == "test"`)? */
export function isExtraRequirement(req: string): boolean {
  const semi = req.indexOf(';');
  return semi >= 0 && /\bextra\s*==/.test(req.slice(semi + 1));
}

export function parseCoreMetadata(data: Buffer, what: string): CoreMetadata {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new InvalidPackageError(`${what} is not valid UTF-8 (the core metadata spec requires UTF-8)`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const { headers, body } = parseHeaders(text, what);
  const required = (key: string, label: string): string => {
    const v = headers.get(key) ?? [];
    if (v.length > 1) throw new InvalidPackageError(`${what}: field ${label} appears ${v.length} times`);
    if (!v[0]) throw new InvalidPackageError(`${what} has no ${label} field`);
    return v[0];
  };
  // Old setuptools wrote "UNKNOWN" for fields the author left out.
  const one = (key: string): string | undefined => {
    const s = headers.get(key)?.[0];
    return s === undefined || s === '' || s === 'UNKNOWN' ? undefined : s;
  };
  const many = (key: string): string[] => (headers.get(key) ?? []).map((s) => s.trim()).filter((s) => s !== '');

  const metadataVersion = required('metadata-version', 'Metadata-Version');
  const mv = /^([0-9]+)\.([0-9]+)$/.exec(metadataVersion);
  // Consumers must refuse a major version they do not know; minor versions are compatible.
  if (!mv || !SUPPORTED_MAJOR.has(mv[1]!)) {
    throw new InvalidPackageError(`${what}: unsupported Metadata-Version "${metadataVersion}" (1.x and 2.x are supported)`);
  }
  const name = required('name', 'Name');
  if (!isValidProjectName(name)) {
    throw new InvalidPackageError(`${what}: Name "${name}" is not a valid project name (ASCII letters and digits, with ".", "-", "_" inside)`);
  }
  const version = required('version', 'Version');
  if (!parseVersion(version)) {
    throw new InvalidPackageError(`${what}: Version "${version}" is not a valid PEP 440 version`);
  }

  const projectUrls: Record<string, string> = {};
  for (const pu of many('project-url')) {
    const comma = pu.indexOf(',');
    if (comma < 0) continue; // malformed entries are display data only; skip rather than reject
    const label = pu.slice(0, comma).trim();
    const url = pu.slice(comma + 1).trim();
    if (label && url && !(label in projectUrls)) projectUrls[label] = url;
  }

  let description = one('description');
  if (description !== undefined) description = unfoldDescription(description);
  const [major, minor] = metadataVersionTuple(metadataVersion);
  if (major > 2 || (major === 2 && minor >= 1)) {
    // 2.1+: the body is the description (and wins over a header when both are present)
    if (body.trim() !== '') description = body;
  }

  return {
    metadataVersion,
    name,
    version,
    summary: one('summary'),
    requiresPython: one('requires-python'),
    requiresDist: many('requires-dist'),
    license: one('license'),
    licenseExpression: one('license-expression'),
    homePage: one('home-page'),
    projectUrls,
    author: one('author'),
    authorEmail: one('author-email'),
    dynamic: many('dynamic').map((d) => d.toLowerCase()),
    description,
    descriptionContentType: one('description-content-type'),
  };
}

/** Metadata-Version as [major, minor] for comparisons (already validated by the parser). */
export function metadataVersionTuple(v: string): [number, number] {
  const [a, b] = v.split('.');
  return [Number(a), Number(b)];
}
