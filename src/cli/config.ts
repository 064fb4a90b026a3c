/**
 * Where rpcli finds its server and token. Precedence: flags > environment
 * (RPCLI_SERVER, RPCLI_TOKEN) > the selected profile of the config file.
 *
 * Config file: $RPCLI_CONFIG, else $XDG_CONFIG_HOME/rpcli/config.json, else
 * ~/.config/rpcli/config.json:
 *   {"default": "prod", "profiles": {"prod": {"server": "https://pkgs.example.com", "token": "ad_..."}}}
 * The profile is --profile, else RPCLI_PROFILE, else "default" of the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usageError } from './errors';

export interface Profile {
  server?: string;
  token?: string;
}

export interface Resolved {
  server: string;
  token?: string;
  /** Where the values came from, for error hints. */
  tokenSource: 'flag' | 'env' | 'profile' | 'none';
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RPCLI_CONFIG) return env.RPCLI_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'rpcli', 'config.json');
}

function readProfiles(file: string, explicit: boolean): { default?: string; profiles: Record<string, Profile> } {
  let text: string;
  try {
    if (fs.statSync(file).size > 1 << 20) throw new Error('larger than 1 MiB');
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return { profiles: {} };
    throw usageError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw usageError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const obj = raw as { default?: unknown; profiles?: unknown };
  if (typeof obj !== 'object' || obj === null || (obj.profiles !== undefined && (typeof obj.profiles !== 'object' || obj.profiles === null))) {
    throw usageError(`config file ${file}: expected {"default": "<name>", "profiles": {"<name>": {"server": "...", "token": "..."}}}`);
  }
  const profiles: Record<string, Profile> = {};
  for (const [name, p] of Object.entries((obj.profiles ?? {}) as Record<string, unknown>)) {
    const v = p as Profile;
    if (typeof p !== 'object' || p === null || (v.server !== undefined && typeof v.server !== 'string') || (v.token !== undefined && typeof v.token !== 'string')) {
      throw usageError(`config file ${file}: profile "${name}" must be {"server": "<url>", "token": "<token>"}`);
    }
    profiles[name] = { server: v.server, token: v.token };
  }
  return { default: typeof obj.default === 'string' ? obj.default : undefined, profiles };
}

/** http(s) URL without trailing slash; anything else is a usage error. */
export function normalizeServer(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw usageError(`server "${raw}" is not a URL; expected e.g. http://localhost:8080`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usageError(`server "${raw}" must start with http:// or https://`);
  if (u.username || u.password) throw usageError('put the token in -t, RPCLI_TOKEN or a profile, not in the server URL');
  return u.toString().replace(/\/+$/, '');
}

export function resolveConfig(flags: { server?: string; token?: string; profile?: string }, env: NodeJS.ProcessEnv = process.env): Resolved {
  const profileName = flags.profile ?? env.RPCLI_PROFILE;
  const file = configPath(env);
  // Only read the file when something may come from it.
  const needFile = !(flags.server ?? env.RPCLI_SERVER) || !(flags.token ?? env.RPCLI_TOKEN) || profileName !== undefined;
  let profile: Profile = {};
  if (needFile) {
    const cfg = readProfiles(file, Boolean(env.RPCLI_CONFIG) || profileName !== undefined);
    const name = profileName ?? cfg.default;
    if (name !== undefined) {
      const p = cfg.profiles[name];
      if (!p) {
        const known = Object.keys(cfg.profiles);
        throw usageError(`no profile "${name}" in ${file}${known.length ? ` (profiles: ${known.join(', ')})` : ''}`);
      }
      profile = p;
    }
  }
  const server = flags.server ?? (env.RPCLI_SERVER || undefined) ?? profile.server;
  if (!server) throw usageError(`no server: pass -s <url>, set RPCLI_SERVER, or add a profile to ${file}`);
  const token = flags.token ?? (env.RPCLI_TOKEN || undefined) ?? profile.token;
  const tokenSource = flags.token !== undefined ? 'flag' : env.RPCLI_TOKEN ? 'env' : profile.token ? 'profile' : 'none';
  return { server: normalizeServer(server), token: token || undefined, tokenSource };
}
