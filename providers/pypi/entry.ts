/**
 * The stored index entry of one file: the PEP 691 file object (JSON) without the parts that
 * depend on the repository or change after upload. `url` (needs the repository name),
 * `yanked` (PEP 592, can be undone) and `upload-time` (the row's createdAt) are added by the
 * index builder. Spec: https://packaging.python.org/en/latest/specifications/simple-repository-api/
 */
export interface StoredFileEntry {
  filename: string;
  hashes: Record<string, string>;
  'requires-python'?: string;
  /** PEP 658/714: hash of the `.metadata` file, or false when none is served. */
  'core-metadata': { sha256: string } | false;
  size: number;
}

/** What a file's entry is rendered from, besides its name, size and sha256 (stored with the file). */
export interface PypiIndexData {
  requiresPython?: string;
  /** The long description (METADATA's Description or body), for the package page; capped. */
  description?: string;
  /** sha256 of the served `.metadata` bytes, when there is one. */
  metadataSha256?: string;
}

export interface EntryInput {
  filename: string;
  sha256: string;
  size: number;
  requiresPython?: string;
  /** sha256 of the served `.metadata` bytes, when there is one. */
  metadataSha256?: string;
}

export function renderEntry(e: EntryInput): string {
  const obj: StoredFileEntry = {
    filename: e.filename,
    hashes: { sha256: e.sha256 },
    ...(e.requiresPython !== undefined ? { 'requires-python': e.requiresPython } : {}),
    'core-metadata': e.metadataSha256 ? { sha256: e.metadataSha256 } : false,
    size: e.size,
  };
  return JSON.stringify(obj);
}

/** Read a stored entry back; a malformed row is a server bug, reported with the file it belongs to. */
export function readEntry(text: string, filename: string): StoredFileEntry {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new Error(`pypi: stored index entry of "${filename}" is not JSON`);
  }
  const o = obj as Partial<StoredFileEntry>;
  if (typeof o !== 'object' || o === null || typeof o.filename !== 'string' || typeof o.hashes !== 'object' || typeof o.size !== 'number') {
    throw new Error(`pypi: stored index entry of "${filename}" is not a PEP 691 file object`);
  }
  return o as StoredFileEntry;
}
