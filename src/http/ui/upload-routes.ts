/**
 * The web UI's upload form: one or more package files into a repository, the format
 * detected or chosen, the providers' own parameters (apt dist/component, apk branch, ...)
 * and extra file fields (pacman `sig`). Each file goes through `storeUpload`, the same path
 * as POST /addpkg, so it gets the same checks and the same errors. Without JavaScript the
 * form posts every file at once and the answer is a page with one result per file; ui.js
 * sends the files one by one (Accept: application/json) to show progress, and then the answer
 * is the API's JSON for that file.
 */
import express, { type Request, type Router } from 'express';
import { BadRequestError, DomainError, UnauthorizedError } from '../../core/errors';
import { checkRepoName } from '../../core/names';
import { providers } from '../../core/provider-registry';
import { TokenService } from '../../core/tokens';
import type { Services } from '../../services';
import { receiveMultipart } from '../multipart';
import { acceptForm, CSRF_FIELD, requireSameOrigin } from '../session';
import { storeUpload } from '../upload-handler';
import { uploadFields, uploadFileFields } from './forms';
import { uiPath } from './format';
import { page } from './render';

/** Files per form post (each is streamed to disk; the bound keeps one request's temp space finite). */
const MAX_FILES = 50;

interface FileResult {
  filename: string;
  ok: boolean;
  status: number;
  error?: string;
  code?: string;
  stored?: { provider: string; repo: string; name: string; version: string; arch: string; url: string; href: string };
}

export function uploadRoutes(s: Services): Router {
  const r = express.Router();

  const formModel = async (req: Request, values: Record<string, string>) => {
    const writable = (await s.catalog.visibleRepos(req.principal)).filter((repo) => TokenService.allows(req.principal, 'write', repo.name));
    return {
      nav: 'upload',
      providers: providers.map((p) => ({ name: p.name, title: p.title, detects: Boolean(p.detect) })),
      fields: uploadFields(providers),
      fileFields: uploadFileFields(providers),
      repos: [...new Set(writable.map((repo) => repo.name))],
      values,
      maxFiles: MAX_FILES,
    };
  };

  r.get('/upload', async (req, res) => {
    if (!req.principal) return res.redirect(303, `/signin?next=${encodeURIComponent(req.originalUrl)}`);
    TokenService.require(req.principal, 'write');
    const q = Object.fromEntries(Object.entries(req.query).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    page(res, 'upload.njk', await formModel(req, q));
  });

  r.post('/upload', async (req, res) => {
    const wantsJson = req.accepts(['html', 'json']) === 'json';
    // Refuse before reading a possibly large body: a cross-site post, no sign-in, a read-only token.
    if (!req.headers.authorization) {
      requireSameOrigin(s, req);
      if (!req.session) throw new UnauthorizedError('sign in to upload');
    }
    TokenService.require(req.session?.principal ?? req.principal, 'write');
    const upload = await receiveMultipart(req, {
      tmpDir: s.tmpDir,
      maxFileSize: s.config.MAX_UPLOAD_SIZE,
      fileFields: ['f', ...uploadFileFields(providers).map((f) => f.name)],
      repeatableFileFields: ['f'],
      maxFiles: MAX_FILES + uploadFileFields(providers).length,
    });
    try {
      acceptForm(s, req, upload.fields[CSRF_FIELD] ?? req.headers['x-csrf-token']);
      // Browsers send an empty part for a file input left empty.
      const files = (upload.fileLists.f ?? []).filter((f) => f.clientFilename !== '' || f.size > 0);
      const extraFiles = Object.fromEntries(Object.entries(upload.files).filter(([k, f]) => k !== 'f' && (f.clientFilename !== '' || f.size > 0)));
      // Empty fields mean "the default", as if the parameter had not been sent at all.
      const fields = Object.fromEntries(Object.entries(upload.fields).filter(([k, v]) => k !== CSRF_FIELD && v.trim() !== '').map(([k, v]) => [k, v.trim()]));
      if (files.length === 0) throw new BadRequestError('choose at least one package file');
      if (Object.keys(extraFiles).length > 0 && files.length > 1) {
        throw new BadRequestError(`a ${Object.keys(extraFiles).join(', ')} file belongs to one package: upload that package on its own`);
      }
      checkRepoName(fields.reponame);
      const results: FileResult[] = [];
      for (const file of files) {
        try {
          const stored = await storeUpload(s, req, { fields, file, extraFiles, wait: true });
          results.push({ filename: file.clientFilename, ok: true, status: 201, stored: { ...stored, href: uiPath(stored.provider, stored.repo, stored.name) } });
          if (wantsJson && files.length === 1) return void res.status(201).json(stored);
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          results.push({ filename: file.clientFilename, ok: false, status: e.status, error: e.message, code: e.code });
          if (wantsJson && files.length === 1) return void res.status(e.status).json({ error: e.message, code: e.code, ...(e.details ? { details: e.details } : {}) });
        }
      }
      const failed = results.find((x) => !x.ok);
      const status = failed ? failed.status : 201;
      if (wantsJson) return void res.status(status).json({ results });
      page(res, 'upload.njk', { ...(await formModel(req, fields)), results }, status);
    } catch (e) {
      if (!(e instanceof DomainError) || wantsJson || e.status >= 500 || e.code === 'csrf' || e.status === 401 || e.status === 403) throw e;
      res.status(e.status);
      page(res, 'upload.njk', { ...(await formModel(req, upload.fields)), error: e.message }, e.status);
    } finally {
      await upload.cleanup();
    }
  });

  return r;
}

