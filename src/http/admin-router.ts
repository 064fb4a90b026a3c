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
import { hasRules, rulesOf, type RetentionRules } from '../core/retention';
import { changeSettings, importKey, rotateKey } from '../core/repo-changes';
import { settingsPatchSchema } from '../core/settings';
import { TokenService, type Role } from '../core/tokens';
import type { Services } from '../services';

/** zod issues -> one readable line ("keep: Too small ...; arches.0: ..."), 400. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const reasons = r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  throw new BadRequestError(`invalid ${what}: ${reasons.join('; ')}`, { reasons });
}

export const tokenBody = z.strictObject({
  name: z.string().min(1).max(128),
  role: z.enum(['read', 'write', 'admin']),
  repoPattern: z.string().min(1).max(255).optional(),
  expiresInDays: z.number().int().min(1).max(36500).optional(),
});


// Retention rules for this run; each one given overrides the repository's setting (src/core/retention.ts).
const cleanBody = z.strictObject({
  keep: z.number().int().min(1).max(100_000).optional(),
  deleteOlderThanDays: z.number().int().min(1).max(36_500).optional(),
  keepDownloadedWithinDays: z.number().int().min(1).max(36_500).optional(),
  retentionPattern: z.string().regex(/^[A-Za-z0-9._+@*-]{1,255}$/).optional(),
  deleteNewest: z.boolean().optional(),
  dryRun: z.boolean().optional(),
  name: z.string().min(1).max(255).optional(),
});

const importBody = z.strictObject({ armoredPrivateKey: z.string().min(1).max(1 << 20) });
const rotateBody = z.strictObject({ kind: z.enum(['openpgp', 'rsa']).default('openpgp'), retire: z.boolean().optional() });
const gcBody = z.strictObject({ dryRun: z.boolean().optional() });
const reindexBody = z.strictObject({});

export function adminRouter(s: Services): Router {
  const r = express.Router();

  const loadRepo = async (req: Request, role: Role): Promise<{ provider: Provider; repo: RepoInfo }> => {
    const provider = getProvider(String(req.params.provider));
    const repo = await s.repos.authorized(provider.name, String(req.params.repo), req.principal, role, s.config.PUBLIC_READ);
    return { provider, repo };
  };

  // Tokens: only an admin over every repository manages them.
  r.post('/tokens', async (req, res) => {
    TokenService.require(req.principal, 'admin');
    const body = parseBody(tokenBody, req.body, 'token');
    const { token, view } = await s.tokens.create(body);
    res.status(201).json({ token, ...view });
  });

  r.get('/tokens', async (req, res) => {
    TokenService.require(req.principal, 'admin');
    res.json({ tokens: await s.tokens.list() });
  });

  r.delete('/tokens/:id', async (req, res) => {
    TokenService.require(req.principal, 'admin');
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id < 1) throw new BadRequestError(`token id must be a positive integer, got "${req.params.id}"`);
    await s.tokens.revoke(id);
    res.json({ revoked: id });
  });

  r.get('/repos/:provider/:repo/settings', async (req, res) => {
    const { repo } = await loadRepo(req, 'admin');
    res.json({ provider: repo.provider, repo: repo.name, settings: repo.settings });
  });

  r.patch('/repos/:provider/:repo/settings', async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    // The core's settings and the provider's own, one schema (`null` removes a setting).
    const patch = parseBody(settingsPatchSchema(provider), req.body, 'settings');
    const { updated, republished } = await changeSettings(s, provider, repo, patch);
    res.json({ provider: updated.provider, repo: updated.name, settings: updated.settings, republished });
  });

  r.post('/repos/:provider/:repo/clean', async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    const body = parseBody(cleanBody, req.body, 'clean request');
    const { dryRun: dry, name, ...given } = body;
    const rules: RetentionRules = { ...rulesOf(s.publisher.scopeContext(repo).repo.settings), ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
    if (!hasRules(rules)) throw new BadRequestError('clean needs {"keep": N} or {"deleteOlderThanDays": D} (or those repository settings)');
    const dryRun = dry ?? false;
    const removed = await s.packages.applyRetention(repo, provider, rules, name, dryRun);
    res.json({ keep: rules.keep ?? null, rules, dryRun, removed });
  });

  r.get('/repos/:provider/:repo/status', async (req, res) => {
    const { repo } = await loadRepo(req, 'read');
    const status = await s.catalog.status(repo);
    const last = await s.publisher.lastPublished(repo.id);
    res.json({
      provider: repo.provider,
      repo: repo.name,
      ...status,
      lastPublished: last ? new Date(last).toISOString() : null,
      scopes: await s.publisher.scopeStatus(repo.id),
    });
  });

  // After bulk uploads with wait=0 (rpcli upload of a directory): publish what they left pending, once, and wait for it.
  r.post('/repos/:provider/:repo/publish', async (req, res) => {
    const { repo } = await loadRepo(req, 'write');
    await s.publisher.publishPending(repo);
    s.events.wake();
    res.json({ provider: repo.provider, repo: repo.name, scopes: await s.publisher.scopeStatus(repo.id) });
  });

  r.get('/repos/:provider/:repo/keys', async (req, res) => {
    const { repo } = await loadRepo(req, 'read');
    res.json({ keys: await s.keys.list(repo.id) });
  });

  r.post('/repos/:provider/:repo/keys/import', async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    const body = parseBody(importBody, req.body, 'key import');
    res.json(await importKey(s, provider, repo, body.armoredPrivateKey));
  });

  r.post('/repos/:provider/:repo/keys/rotate', async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    const body = parseBody(rotateBody, req.body, 'key rotation');
    res.json(await rotateKey(s, provider, repo, body.kind, body.retire ?? false));
  });

  // Render every entry again from its stored metadata, re-sign what the repository key signed, republish once.
  r.post('/repos/:provider/:repo/reindex', async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    parseBody(reindexBody, req.body, 'reindex request');
    res.json({ provider: repo.provider, repo: repo.name, ...(await s.renderer.reindex(provider, repo)) });
  });

  r.post('/gc', async (req, res) => {
    TokenService.require(req.principal, 'admin');
    const body = parseBody(gcBody, req.body, 'gc request');
    res.json(await runGc(s, { dryRun: body.dryRun ?? false }));
  });

  return r;
}
