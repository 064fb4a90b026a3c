/** The shared upload path behind POST /addpkg and provider upload routes (twine). */
import type { Request, Response } from 'express';
import { BadRequestError } from '../core/errors';
import { checkRepoName } from '../core/names';
import { detectProvider, type StoredFileView, type UploadRequest } from '../core/package-service';
import type { Provider, UploadedFile } from '../core/provider';
import { getProvider, providers } from '../core/provider-registry';
import { TokenService } from '../core/tokens';
import type { Services } from '../services';
import { receiveMultipart } from './multipart';
import { noteAudit } from './ops-middleware';
import { repoUrl } from './urls';

export interface UploadOptions {
  /** Fixed by the route (twine: pypi), else from `provider` or detected. */
  provider?: Provider;
  /** Fixed by the route, else from `reponame`. */
  repoName?: string;
  fileField: string;
  /** Extra checks on the form before storing (twine's :action, digests). */
  verify?: (fields: Record<string, string[]>, files: Record<string, UploadedFile>) => void;
  /** Map form fields to provider params (twine field names). */
  params?: (fields: Record<string, string>) => Record<string, string>;
}

/** Further file fields an upload may carry: the named provider's, or any provider's when it is detected later. */
function extraFileFields(provider: Provider | undefined): string[] {
  return [...new Set((provider ? [provider] : providers).flatMap((p) => p.uploadFileFields ?? []))];
}

export async function handleUpload(s: Services, req: Request, res: Response, opts: UploadOptions): Promise<void> {
  // Refuse before reading a possibly huge body when we already know the answer.
  TokenService.require(req.principal, 'write');
  const query = Object.fromEntries(Object.entries(req.query).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  const early = opts.repoName ?? query.reponame;
  if (early) TokenService.require(req.principal, 'write', checkRepoName(early));

  // A provider known before the body (the route's, or `?provider=`) gets its digests in the
  // receiving pass; otherwise they are computed once it is known (PackageService.upload).
  const known = opts.provider ?? providers.find((p) => p.name === query.provider);
  const upload = await receiveMultipart(req, {
    tmpDir: s.tmpDir,
    maxFileSize: s.config.MAX_UPLOAD_SIZE,
    fileFields: [opts.fileField, ...extraFileFields(opts.provider)],
    digests: known?.digests,
  });
  try {
    const fields = { ...upload.fields, ...query };
    opts.verify?.(upload.multiFields, upload.files);
    const file = upload.files[opts.fileField];
    if (!file) throw new BadRequestError(`no file in field "${opts.fileField}" (curl -F '${opts.fileField}=@package-file')`);
    const extraFiles = Object.fromEntries(Object.entries(upload.files).filter(([k]) => k !== opts.fileField));
    const wait = fields.wait !== '0' && fields.wait !== 'false';
    const stored = await storeUpload(s, req, { fields, file, extraFiles, wait, provider: opts.provider, repoName: opts.repoName, params: opts.params });
    res.status(wait ? 201 : 202).json(stored);
  } finally {
    await upload.cleanup();
  }
}

export interface StoreRequest {
  /** Form fields and query parameters (`reponame`, `provider`, the provider's parameters). */
  fields: Record<string, string>;
  file: UploadedFile;
  extraFiles: Record<string, UploadedFile>;
  wait: boolean;
  provider?: Provider;
  repoName?: string;
  params?: (fields: Record<string, string>) => Record<string, string>;
}

/**
 * One received package file -> stored and (with `wait`) published: the repository and token
 * check, format detection, the provider's parameter validation and the upload itself. Shared
 * by POST /addpkg, the twine endpoints and the web UI's upload form, so all give the same errors.
 */
export async function storeUpload(s: Services, req: Request, u: StoreRequest) {
  const request = await uploadRequestFor(s, req, u);
  const audit = (note: Parameters<typeof noteAudit>[1]) => req.res && noteAudit(req.res, note);
  const { view } = await s.packages.upload(request);
  audit({ target: `${view.name} ${view.version}${view.arch ? ` (${view.arch})` : ''} ${view.filename}` });
  return storedAnswer(s, req, request.provider, view, u.wait);
}

/** The JSON answer for one stored file: its view, its download URL, whether it is published yet. */
export function storedAnswer(s: Services, req: Request, provider: Provider, view: StoredFileView, published: boolean) {
  const url = `${repoUrl(s, req, provider.name, view.repo)}/${view.path.split('/').map(encodeURIComponent).join('/')}`;
  return { ...view, url, published };
}

/** The repository and token check, format detection and the provider's parameter validation of one received file. */
export async function uploadRequestFor(s: Services, req: Request, u: StoreRequest): Promise<UploadRequest> {
  const repoName = checkRepoName(u.repoName ?? u.fields.reponame ?? u.fields.repo);
  TokenService.require(req.principal, 'write', repoName);
  // What the audit entry of this request names (src/http/ops-middleware.ts).
  const audit = (note: Parameters<typeof noteAudit>[1]) => req.res && noteAudit(req.res, note);
  audit({ repo: repoName, target: u.file.clientFilename || repoName, ...(u.provider ? { provider: u.provider.name } : {}) });
  const provider = u.provider ?? (u.fields.provider ? getProvider(u.fields.provider) : await detectProvider(u.file));
  audit({ provider: provider.name });
  const rawParams = u.params ? u.params(u.fields) : u.fields;
  const parsedParams = provider.uploadParams.safeParse(rawParams);
  if (!parsedParams.success) {
    const problems = parsedParams.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
    throw new BadRequestError(`invalid ${provider.name} upload parameters: ${problems}`);
  }
  return {
    provider,
    repoName,
    file: u.file,
    extraFiles: u.extraFiles,
    params: parsedParams.data,
    claimedName: rawParams.name,
    claimedVersion: rawParams.version,
    wait: u.wait,
  };
}
