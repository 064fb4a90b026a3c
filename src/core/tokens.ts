/**
 * API tokens: stored as sha256 hashes (a leaked database does not leak tokens), shown
 * once at creation. A token has a role (read < write < admin) over a glob of repository
 * names. The ADMIN_TOKEN (env or generated file) is an admin over every repository.
 */
import crypto from 'node:crypto';
import type { Database } from '../db/database';
import { TokenEntity, type TokenRow } from '../db/entities';
import { BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError } from './errors';
import { sha256Hex } from '../util/hash';

export type Role = 'read' | 'write' | 'admin';
const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

export interface Principal {
  /** null for the built-in admin token */
  tokenId: number | null;
  name: string;
  role: Role;
  repoPattern: string;
}

export interface TokenView {
  id: number;
  name: string;
  role: Role;
  repoPattern: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  revoked: boolean;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

export function tokenView(t: TokenRow): TokenView {
  const iso = (n: number | null) => (n === null ? null : new Date(n).toISOString());
  return { id: t.id, name: t.name, role: t.role, repoPattern: t.repoPattern, expiresAt: iso(t.expiresAt), lastUsedAt: iso(t.lastUsedAt), createdAt: new Date(t.createdAt).toISOString(), revoked: t.revokedAt !== null };
}

export class TokenService {
  private readonly adminHash: string;

  constructor(private readonly db: Database, adminToken: string) {
    this.adminHash = sha256Hex(adminToken);
  }

  async authenticate(secret: string): Promise<Principal> {
    return this.principalForHash(sha256Hex(secret));
  }

  /** The principal of a token by its sha256 (web UI sessions keep only the hash); 401 once revoked or expired. */
  async principalForHash(hash: string): Promise<Principal> {
    if (crypto.timingSafeEqual(Buffer.from(hash), Buffer.from(this.adminHash))) return { tokenId: null, name: 'admin', role: 'admin', repoPattern: '*' };
    const repo = this.db.manager.getRepository(TokenEntity);
    const row = await repo.findOne({ where: { tokenHash: hash } });
    if (!row || row.revokedAt !== null) throw new UnauthorizedError('invalid or revoked token');
    if (row.expiresAt !== null && row.expiresAt < Date.now()) throw new UnauthorizedError('token expired');
    // Record use at most once a minute: cheap, and good enough for "last used".
    if (row.lastUsedAt === null || Date.now() - row.lastUsedAt > 60_000) {
      void repo.update({ id: row.id }, { lastUsedAt: Date.now() }).catch(() => undefined);
    }
    return { tokenId: row.id, name: row.name, role: row.role, repoPattern: row.repoPattern };
  }

  /** Throws 401 without a principal, 403 when it lacks `role` on `repoName` (undefined: any repo). */
  static require(p: Principal | undefined, role: Role, repoName?: string): Principal {
    if (!p) throw new UnauthorizedError();
    if (RANK[p.role] < RANK[role]) throw new ForbiddenError(`token "${p.name}" has role ${p.role}; this needs ${role}`);
    if (repoName !== undefined && !globToRegExp(p.repoPattern).test(repoName)) {
      throw new ForbiddenError(`token "${p.name}" is limited to repositories matching "${p.repoPattern}"`);
    }
    if (repoName === undefined && p.repoPattern !== '*' && role === 'admin') throw new ForbiddenError('this needs an admin token for all repositories');
    return p;
  }

  static allows(p: Principal | undefined, role: Role, repoName: string): boolean {
    try {
      TokenService.require(p, role, repoName);
      return true;
    } catch {
      return false;
    }
  }

  async create(input: { name: string; role: Role; repoPattern?: string; expiresInDays?: number }): Promise<{ token: string; view: TokenView }> {
    if (!/^[\w.@-]{1,128}$/.test(input.name)) throw new BadRequestError('token name: 1-128 letters, digits, "_", ".", "@", "-"');
    const pattern = input.repoPattern ?? '*';
    if (!/^[A-Za-z0-9._+*-]{1,255}$/.test(pattern)) throw new BadRequestError('repo pattern: repository name characters and "*"');
    const secret = `ad_${crypto.randomBytes(24).toString('base64url')}`;
    const now = Date.now();
    const res = await this.db.write((m) =>
      m.getRepository(TokenEntity).insert({
        name: input.name, tokenHash: sha256Hex(secret), role: input.role, repoPattern: pattern,
        expiresAt: input.expiresInDays ? now + input.expiresInDays * 86_400_000 : null, lastUsedAt: null, createdAt: now, revokedAt: null,
      }),
    );
    const row = await this.db.manager.getRepository(TokenEntity).findOneByOrFail({ id: Number(res.identifiers[0].id) });
    return { token: secret, view: tokenView(row) };
  }

  async list(): Promise<TokenView[]> {
    return (await this.db.manager.getRepository(TokenEntity).find({ order: { id: 'ASC' } })).map(tokenView);
  }

  async revoke(id: number): Promise<void> {
    const row = await this.db.manager.getRepository(TokenEntity).findOneBy({ id });
    if (!row) throw new NotFoundError(`no token with id ${id}`);
    await this.db.write((m) => m.getRepository(TokenEntity).update({ id }, { revokedAt: Date.now() }));
  }
}
