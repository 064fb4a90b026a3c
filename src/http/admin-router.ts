/**
 * The administrative JSON API that rpcli drives: tokens, repository settings, retention
 * (clean), status, signing keys and blob GC. Mounted at /api next to api-router.ts.
 * Every route is thin: check the token, validate the body with zod, call one service.
 */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { BadRequestError } from '../core/errors';
import { runGc } from '../core/gc';
import type { Provider, RepoInfo } from '../core/provider';
import { getProvider } from '../core/provider-registry';
import { TokenService, type Role } from '../core/tokens';
import type { Services } from '../services';
import { asyncRoute } from './middleware';
import { authenticatedJsonBody } from './json-body';

/** zod issues -> one readable line ("keep: Too small ...; arches.0: ..."), 400. */
function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const reasons = r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  throw new BadRequestError(`invalid ${what}: ${reasons.join('; ')}`, { reasons });
}

/** One line of text for Release/APKINDEX fields: no control characters (they would break the index). */
const oneLine = (max: number) => z.string().max(max).regex(/^[^\u0000-\u001f\u007f]*$/, 'must be one line without control characters');

const tokenBody = z.strictObject({
  name: z.string().min(1).max(128),
  role: z.enum(['read', 'write', 'admin']),
  repoPattern: z.string().min(1).max(255).optional(),
  expiresInDays: z.number().int().min(1).max(36500).optional(),
});

/** Repository settings; `null` removes a setting (back to the default). */
const settingsPatch = z.strictObject({
  keep: z.number().int().min(1).max(100_000).nullable().optional(),
  overwrite: z.boolean().nullable().optional(),
  private: z.boolean().nullable().optional(),
  arches: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/, 'an architecture name such as x86_64 or amd64')).min(1).max(64).nullable().optional(),
  validDays: z.number().int().min(1).max(3650).nullable().optional(),
  origin: oneLine(200).nullable().optional(),
  label: oneLine(200).nullable().optional(),
  description: oneLine(1000).nullable().optional(),
});
/** Settings that appear inside published indexes: changing one republishes the repository. */
const INDEX_SETTINGS = ['arches', 'validDays', 'origin', 'label', 'description'];

const cleanBody = z.strictObject({
  keep: z.number().int().min(1).max(100_000).optional(),
  dryRun: z.boolean().optional(),
  name: z.string().min(1).max(255).optional(),
});

const importBody = z.strictObject({ armoredPrivateKey: z.string().min(1).max(1 << 20) });
const rotateBody = z.strictObject({ kind: z.enum(['openpgp', 'rsa']).default('openpgp'), retire: z.boolean().optional() });
const gcBody = z.strictObject({ dryRun: z.boolean().optional() });

export function adminRouter(s: Services): Router {
  const r = express.Router();
  r.use(authenticatedJsonBody('2mb'));

  const loadRepo = async (req: Request, role: Role): Promise<{ provider: Provider; repo: RepoInfo }> => {
    const provider = getProvider(String(req.params.provider));
    const repo = await s.repos.authorized(provider.name, String(req.params.repo), req.principal, role, s.config.PUBLIC_READ);
    return { provider, repo };
  };

  /** Every scope the repository's partitions map to now (settings may add arches), then rebuild all. */
  const republish = async (provider: Provider, repo: RepoInfo): Promise<string[]> => {
    const ctx = s.publisher.scopeContext(repo);
    const scopes = (await Promise.all((await ctx.partitions()).map((p) => provider.scopesFor(p, ctx)))).flat();
    await s.publisher.ensureScopes(repo.id, [...new Set(scopes)]);
    return s.publisher.republishAll(repo);
  };

  // Tokens: only an admin over every repository manages them.
  r.post('/tokens', asyncRoute(async (req, res) => {
    TokenService.require(req.principal, 'admin');
    const body = parseBody(tokenBody, req.body, 'token');
    const { token, view } = await s.tokens.create(body);
    res.status(201).json({ token, ...view });
  }));

  r.get('/tokens', asyncRoute(async (req, res) => {
    TokenService.require(req.principal, 'admin');
    res.json({ tokens: await s.tokens.list() });
  }));

  r.delete('/tokens/:id', asyncRoute(async (req, res) => {
    TokenService.require(req.principal, 'admin');
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id < 1) throw new BadRequestError(`token id must be a positive integer, got "${req.params.id}"`);
    await s.tokens.revoke(id);
    res.json({ revoked: id });
  }));

  r.get('/repos/:provider/:repo/settings', asyncRoute(async (req, res) => {
    const { repo } = await loadRepo(req, 'admin');
    res.json({ provider: repo.provider, repo: repo.name, settings: repo.settings });
  }));

  r.patch('/repos/:provider/:repo/settings', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    const patch = parseBody(settingsPatch, req.body, 'settings');
    const updated = await s.repos.updateSettings(repo, patch);
    const republished = Object.keys(patch).some((k) => INDEX_SETTINGS.includes(k)) ? await republish(provider, updated) : [];
    res.json({ provider: updated.provider, repo: updated.name, settings: updated.settings, republished });
  }));

  r.post('/repos/:provider/:repo/clean', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    const body = parseBody(cleanBody, req.body, 'clean request');
    const keep = body.keep ?? (typeof repo.settings.keep === 'number' ? repo.settings.keep : undefined);
    if (keep === undefined) throw new BadRequestError('clean needs {"keep": N} (or a "keep" repository setting)');
    const dryRun = body.dryRun ?? false;
    const removed = await s.packages.applyRetention(repo, provider, keep, body.name, dryRun);
    res.json({ keep, dryRun, removed });
  }));

  r.get('/repos/:provider/:repo/status', asyncRoute(async (req, res) => {
    const { repo } = await loadRepo(req, 'read');
    const files = await s.packages.listFiles(repo);
    // Packages per architecture (distinct names), as pacman's and apt's per-arch indexes count them.
    const namesByArch = new Map<string, Set<string>>();
    for (const f of files) {
      if (!f.arch) continue;
      (namesByArch.get(f.arch) ?? namesByArch.set(f.arch, new Set()).get(f.arch)!).add(f.name);
    }
    const last = await s.publisher.lastPublished(repo.id);
    res.json({
      provider: repo.provider,
      repo: repo.name,
      packages: new Set(files.map((f) => f.name)).size,
      versions: new Set(files.map((f) => `${f.name}\u0000${f.version}`)).size,
      files: files.length,
      totalSize: files.reduce((n, f) => n + f.size, 0),
      perArch: Object.fromEntries([...namesByArch].sort(([a], [b]) => a.localeCompare(b)).map(([a, names]) => [a, names.size])),
      yanked: files.filter((f) => f.yanked !== null).length,
      lastPublished: last ? new Date(last).toISOString() : null,
      scopes: await s.publisher.scopeStatus(repo.id),
    });
  }));

  r.get('/repos/:provider/:repo/keys', asyncRoute(async (req, res) => {
    const { repo } = await loadRepo(req, 'read');
    res.json({ keys: await s.keys.list(repo.id) });
  }));

  r.post('/repos/:provider/:repo/keys/import', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    const body = parseBody(importBody, req.body, 'key import');
    const key = await s.keys.importOpenPgp(repo, body.armoredPrivateKey);
    res.json({ key, republished: await republish(provider, repo) });
  }));

  r.post('/repos/:provider/:repo/keys/rotate', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    const body = parseBody(rotateBody, req.body, 'key rotation');
    const keys = await s.keys.rotate(repo, body.kind, body.retire ?? false);
    res.json({ keys, republished: await republish(provider, repo) });
  }));

  r.post('/gc', asyncRoute(async (req, res) => {
    TokenService.require(req.principal, 'admin');
    const body = parseBody(gcBody, req.body, 'gc request');
    res.json(await runGc(s, { dryRun: body.dryRun ?? false }));
  }));

  return r;
}
