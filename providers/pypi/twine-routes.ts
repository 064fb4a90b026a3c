/**
 * twine's legacy upload API (the form PyPI accepts at https://upload.pypi.org/legacy/).
 * Only the form's shape is checked here; the core streams the `content` part, authenticates
 * (HTTP Basic, user `__token__`) and runs the normal upload with this provider.
 * Facts: docs/formats/pypi.md#upload-api; twine `repository.py` / `package.py`; warehouse `forklift/legacy.py`.
 */
import { BadRequestError } from '../../src/core/errors';
import type { UploadEndpoint } from '../../src/core/provider';
import { normalizeName } from './names';
import { versionsEqual } from './version';

/** Paths (relative to /repo/pypi/:repo/) twine may be pointed at; never redirected. */
export const TWINE_UPLOAD_PATHS = ['/', '/legacy/', '/legacy'] as const;

/** Non-file form fields as received (repeated fields are arrays). */
export type TwineFields = Record<string, string | string[] | undefined>;

export interface TwineUpload {
  /** To pass on as the provider's `sha256_digest` upload parameter. */
  sha256Digest?: string;
  name?: string;
  version?: string;
  filetype?: 'sdist' | 'bdist_wheel';
  pyversion?: string;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * Validate the form: `:action` = file_upload, `protocol_version` = 1 when sent, a `content`
 * file part with a file name, well-formed digests. `md5_digest` is not required (twine 6.2
 * stopped sending it); blake2_256_digest is only checked for shape (Node has no BLAKE2b-256).
 */
export function checkTwineFields(fields: TwineFields, contentFilename: string | undefined): TwineUpload {
  const action = first(fields[':action']);
  if (action === undefined) throw new BadRequestError('missing ":action" form field (twine sends ":action=file_upload")');
  if (action !== 'file_upload') throw new BadRequestError(`":action" "${action}" is not supported; only "file_upload" is`);
  const protocol = first(fields.protocol_version);
  if (protocol !== undefined && protocol !== '1') throw new BadRequestError(`unknown protocol_version "${protocol}" (only 1 is supported)`);
  if (contentFilename === undefined) throw new BadRequestError('missing "content" file part (the distribution file)');
  if (contentFilename === '') throw new BadRequestError('the "content" file part has no file name; pip needs the distribution file name');

  const out: TwineUpload = {};
  const sha = first(fields.sha256_digest)?.trim();
  if (sha) {
    if (!/^[0-9a-f]{64}$/i.test(sha)) throw new BadRequestError('sha256_digest must be 64 hexadecimal digits');
    out.sha256Digest = sha.toLowerCase();
  }
  const blake = first(fields.blake2_256_digest)?.trim();
  if (blake && !/^[0-9a-f]{64}$/i.test(blake)) throw new BadRequestError('blake2_256_digest must be 64 hexadecimal digits');

  const filetype = first(fields.filetype);
  if (filetype !== undefined && filetype !== '') {
    if (filetype !== 'sdist' && filetype !== 'bdist_wheel') {
      throw new BadRequestError(`filetype "${filetype}" is not supported; upload a wheel (bdist_wheel) or an sdist`);
    }
    const isWheel = contentFilename.toLowerCase().endsWith('.whl');
    if (isWheel !== (filetype === 'bdist_wheel')) {
      throw new BadRequestError(`file "${contentFilename}" does not match filetype "${filetype}"`);
    }
    out.filetype = filetype;
  }
  const name = first(fields.name)?.trim();
  if (name) out.name = name;
  const version = first(fields.version)?.trim();
  if (version) out.version = version;
  const pyversion = first(fields.pyversion)?.trim();
  if (pyversion) out.pyversion = pyversion;
  return out;
}

/** After parsing: the form's name/version (when sent) must be the file's own. */
export function checkTwineAgainstPackage(form: TwineUpload, pkg: { name: string; version: string }): void {
  if (form.name !== undefined && normalizeName(form.name) !== normalizeName(pkg.name)) {
    throw new BadRequestError(`form field name "${form.name}" differs from the file's metadata Name "${pkg.name}"`);
  }
  if (form.version !== undefined && !versionsEqual(form.version, pkg.version)) {
    throw new BadRequestError(`form field version "${form.version}" differs from the file's metadata Version "${pkg.version}"`);
  }
}

/**
 * twine's upload endpoint at `<repo>/`, `<repo>/legacy/` and `<repo>/legacy` (twine refuses
 * redirects, so all three answer directly). The core streams `content`, authenticates
 * (basic auth `__token__`:token) and stores; a duplicate is 409 so `--skip-existing` works.
 */
export const twineUpload: UploadEndpoint = {
  paths: TWINE_UPLOAD_PATHS,
  fileField: 'content',
  verify: (fields, files) => {
    checkTwineFields(fields, files.content?.clientFilename);
  },
  params: (fields) => {
    const out: Record<string, string> = {};
    if (fields.sha256_digest) out.sha256_digest = fields.sha256_digest.trim().toLowerCase();
    if (fields.name) out.name = fields.name;
    if (fields.version) out.version = fields.version;
    return out;
  },
};
