/**
 * The web UI's management forms for one repository, each the form twin of an API route and
 * calling the same service with the same token rule: delete a version (admin, as DELETE
 * /api/repos/.../packages/:name/:version), yank and un-yank (write), repository settings
 * (admin, validated by `settingsPatchSchema` like PATCH .../settings) and signing keys (read
 * to see, admin to rotate). Destructive actions go through a confirmation page first, which
 * works without JavaScript. Every POST passes `acceptForm` (same origin + CSRF token).
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { BadRequestError, DomainError } from '../../core/errors';
import type { Provider, RepoInfo } from '../../core/provider';
import { changeSettings, rotateKey } from '../../core/repo-changes';
import { settingsPatchSchema, withDefaults } from '../../core/settings';
import { TokenService, type Role } from '../../core/tokens';
import type { Services } from '../../services';
import { parseBody } from '../admin-router';
import { acceptForm, CSRF_FIELD } from '../session';
import { settingFields, settingsPatch } from './forms';
import { uiPath } from './format';
import { requireRepo } from './pages';
import { page } from './render';

const form = express.urlencoded({ extended: false, limit: '256kb', parameterLimit: 100 });
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const ACTIONS = {
  delete: { role: 'admin', title: 'Delete', button: 'Delete this version', danger: true },
  yank: { role: 'write', title: 'Yank', button: 'Yank this version', danger: false },
  unyank: { role: 'write', title: 'Un-yank', button: 'Un-yank this version', danger: false },
} as const satisfies Record<string, { role: Role; title: string; button: string; danger: boolean }>;
type Action = keyof typeof ACTIONS;

const rotateForm = z.strictObject({ kind: z.enum(['openpgp', 'rsa']) });

export function manageRoutes(s: Services): Router {
  const r = express.Router();

  /** The repository of the URL and the principal, which must hold `role` on it (401/403 otherwise). */
  const load = async (req: Request, role: Role): Promise<{ provider: Provider; repo: RepoInfo }> => {
    const got = await requireRepo(s, req, String(req.params.provider), String(req.params.repo));
    if (role !== 'read') TokenService.require(req.principal, role, got.repo.name);
    return got;
  };
  /** For POSTs: the form's CSRF token first, then the same check. */
  const loadForm = async (req: Request, role: Role) => {
    acceptForm(s, req, req.body?.[CSRF_FIELD]);
    return load(req, role);
  };
  const actionOf = (v: unknown): Action => {
    if (v === 'delete' || v === 'yank' || v === 'unyank') return v;
    throw new BadRequestError('action must be delete, yank or unyank');
  };
  const versionOf = (req: Request) => {
    const src = req.method === 'GET' ? req.query : req.body ?? {};
    const name = str(src.name);
    const version = str(src.version);
    if (!name || !version) throw new BadRequestError('name and version are required');
    return { name, version };
  };

  r.get('/ui/:provider/:repo/-/confirm', async (req, res) => {
    const action = actionOf(req.query.action);
    const { provider, repo } = await load(req, ACTIONS[action].role);
    const { name, version } = versionOf(req);
    const files = await s.catalog.versionFiles(repo, name, version);
    if (files.length === 0) throw new DomainError(404, 'not_found', `${name} ${version} is not in ${provider.name}/${repo.name}`);
    page(res, 'confirm.njk', {
      action, ...ACTIONS[action],
      provider: { name: provider.name, yank: provider.capabilities.yank },
      repo: { name: repo.name, href: uiPath(provider.name, repo.name) },
      pkg: { name: files[0].name, version, href: uiPath(provider.name, repo.name, files[0].name), files: files.map((f) => f.filename) },
      formAction: `${uiPath(provider.name, repo.name)}/-/${action === 'delete' ? 'delete' : 'yank'}`,
    });
  });

  r.post('/ui/:provider/:repo/-/delete', form, async (req, res) => {
    const { provider, repo } = await loadForm(req, 'admin');
    const { name, version } = versionOf(req);
    await s.packages.deleteVersion(repo, provider, name, version);
    const left = await s.catalog.filesOf(repo, name);
    res.redirect(303, `${left.length ? uiPath(provider.name, repo.name, left[0].name) : uiPath(provider.name, repo.name)}?notice=deleted`);
  });

  r.post('/ui/:provider/:repo/-/yank', form, async (req, res) => {
    const { provider, repo } = await loadForm(req, 'write');
    const { name, version } = versionOf(req);
    const action = actionOf(req.body?.action);
    if (action === 'delete') throw new BadRequestError('action must be yank or unyank');
    const reason = str(req.body?.reason).trim();
    if (reason.length > 1000) throw new BadRequestError('the reason is at most 1000 characters');
    await s.packages.setYanked(repo, provider, name, version, action === 'yank' ? reason : null);
    res.redirect(303, `${uiPath(provider.name, repo.name, name)}?notice=${action === 'yank' ? 'yanked' : 'unyanked'}`);
  });

  const settingsPage = async (req: Request, res: Response, provider: Provider, repo: RepoInfo, extra: Record<string, unknown> = {}, status = 200) => {
    const effective = withDefaults(repo, s.config.providerDefaults).settings;
    page(res, 'settings.njk', {
      provider: { name: provider.name, title: provider.title },
      repo: { name: repo.name, href: uiPath(provider.name, repo.name) },
      fields: settingFields(provider, repo.settings, effective),
      inIndex: provider.settings.inIndex,
      ...extra,
    }, status);
  };

  r.get('/ui/:provider/:repo/-/settings', async (req, res) => {
    const { provider, repo } = await load(req, 'admin');
    await settingsPage(req, res, provider, repo);
  });

  r.post('/ui/:provider/:repo/-/settings', form, async (req, res) => {
    const { provider, repo } = await loadForm(req, 'admin');
    const fields = settingFields(provider, repo.settings, {});
    const body = settingsPatch(fields, req.body ?? {}, repo.settings);
    let patch: Record<string, unknown>;
    try {
      patch = parseBody(settingsPatchSchema(provider), body, 'settings');
    } catch (e) {
      if (!(e instanceof BadRequestError)) throw e;
      // Show what was typed, with the schema's reasons, and keep nothing.
      const typed = fields.map((f) => ({ ...f, value: f.key in (req.body ?? {}) ? str(req.body[f.key]) : f.value }));
      return settingsPage(req, res, provider, repo, { error: e.message, typed }, 400);
    }
    await changeSettings(s, provider, repo, patch);
    res.redirect(303, `${uiPath(provider.name, repo.name)}/-/settings?notice=settings`);
  });

  r.get('/ui/:provider/:repo/-/keys', async (req, res) => {
    const { provider, repo } = await load(req, 'read');
    const keys = await s.keys.list(repo.id);
    page(res, 'keys.njk', {
      provider: { name: provider.name, title: provider.title },
      repo: { name: repo.name, href: uiPath(provider.name, repo.name) },
      keys,
      kinds: [...new Set(keys.filter((k) => k.active).map((k) => k.kind))],
      canRotate: TokenService.allows(req.principal, 'admin', repo.name),
    });
  });

  r.post('/ui/:provider/:repo/-/keys/rotate', form, async (req, res) => {
    const { provider, repo } = await loadForm(req, 'admin');
    const { kind } = parseBody(rotateForm, { kind: req.body?.kind }, 'key rotation');
    // As POST .../keys/rotate: the same change, event and republish.
    await rotateKey(s, provider, repo, kind, false);
    res.redirect(303, `${uiPath(provider.name, repo.name)}/-/keys?notice=rotated`);
  });

  return r;
}
