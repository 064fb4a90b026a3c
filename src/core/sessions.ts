/**
 * Web UI sessions (issue 17): signing in with a token makes a random session id (the
 * cookie) and a CSRF token. The database keeps the sha256 of the session id, never the id,
 * and the sha256 of the token, which is looked up again on every request: revoking or
 * expiring the token ends its sessions at once, as does changing ADMIN_TOKEN. Sessions
 * have a fixed lifetime (no sliding renewal), and never outlive their token.
 */
import crypto from 'node:crypto';
import { LessThan } from 'typeorm';
import type { Database } from '../db/database';
import { SessionEntity, TokenEntity } from '../db/entities';
import { sha256Hex } from '../util/hash';
import type { Principal, TokenService } from './tokens';

/** How long a sign-in lasts: a working day, then the token has to be given again. */
export const SESSION_LIFETIME_MS = 12 * 3600_000;

export interface Session {
  principal: Principal;
  csrfToken: string;
  expiresAt: number;
}

export class SessionService {
  constructor(private readonly db: Database, private readonly tokens: TokenService, private readonly lifetimeMs = SESSION_LIFETIME_MS) {}

  /** Checks the token (401 when invalid) and opens a session; returns the cookie's session id. */
  async create(secret: string): Promise<{ sessionId: string; session: Session }> {
    const tokenHash = sha256Hex(secret);
    const principal = await this.tokens.principalForHash(tokenHash);
    const now = Date.now();
    let expiresAt = now + this.lifetimeMs;
    if (principal.tokenId !== null) {
      const row = await this.db.manager.getRepository(TokenEntity).findOneBy({ id: principal.tokenId });
      if (row?.expiresAt != null) expiresAt = Math.min(expiresAt, row.expiresAt);
    }
    const sessionId = crypto.randomBytes(32).toString('base64url');
    const csrfToken = crypto.randomBytes(32).toString('base64url');
    await this.db.write(async (m) => {
      // Sign-ins are rare: a good moment to drop sessions that ran out.
      await m.getRepository(SessionEntity).delete({ expiresAt: LessThan(now) });
      await m.getRepository(SessionEntity).insert({ sessionHash: sha256Hex(sessionId), tokenHash, csrfToken, createdAt: now, expiresAt });
    });
    return { sessionId, session: { principal, csrfToken, expiresAt } };
  }

  /** The live session of a cookie value, or null (unknown, expired, or its token revoked: then it is deleted). */
  async lookup(sessionId: string): Promise<Session | null> {
    if (!/^[A-Za-z0-9_-]{20,100}$/.test(sessionId)) return null;
    const sessionHash = sha256Hex(sessionId);
    const row = await this.db.manager.getRepository(SessionEntity).findOneBy({ sessionHash });
    if (!row) return null;
    if (row.expiresAt <= Date.now()) {
      await this.end(sessionId);
      return null;
    }
    let principal: Principal;
    try {
      principal = await this.tokens.principalForHash(row.tokenHash);
    } catch {
      await this.end(sessionId);
      return null;
    }
    return { principal, csrfToken: row.csrfToken, expiresAt: row.expiresAt };
  }

  async end(sessionId: string): Promise<void> {
    await this.db.write((m) => m.getRepository(SessionEntity).delete({ sessionHash: sha256Hex(sessionId) }));
  }
}
