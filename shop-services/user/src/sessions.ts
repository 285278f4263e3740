import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { UnauthorizedError, type AccessTokenIssuer } from '@lantern/shop-common';
import { toProfile, type UsersRepo, type UserRecord } from './users-repo.js';
import type { Profile } from './schemas.js';

interface RefreshRow {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

export interface TokenPair {
  user: Profile;
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresAt: string;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Refresh tokens are opaque random strings; only their sha256 is stored. Each refresh rotates:
 * the presented token is marked rotated and a new one joins the same family. Presenting a
 * rotated (or revoked) token again means it was stolen or replayed, so the whole family is revoked.
 */
export function createSessions(deps: { knex: Knex; users: UsersRepo; issuer: AccessTokenIssuer; refreshTtlDays: number }) {
  const { knex } = deps;

  async function insertRefresh(trx: Knex, userId: string, familyId: string): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + deps.refreshTtlDays * 86_400_000);
    await trx('refresh_tokens').insert({ id: randomUUID(), user_id: userId, family_id: familyId, token_hash: hashToken(token), expires_at: expiresAt });
    return { token, expiresAt };
  }

  async function pair(user: UserRecord, refresh: { token: string; expiresAt: Date }): Promise<TokenPair> {
    const access = await deps.issuer.sign({ id: user.id, role: user.role, email: user.email });
    return {
      user: toProfile(user),
      accessToken: access.token,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      refreshToken: refresh.token,
      refreshExpiresAt: refresh.expiresAt.toISOString(),
    };
  }

  const revokeFamily = (trx: Knex, familyId: string) => trx('refresh_tokens').where({ family_id: familyId }).whereNull('revoked_at').update({ revoked_at: knex.fn.now() });

  return {
    /** A new session (new family) after register or login. */
    async start(user: UserRecord): Promise<TokenPair> {
      return pair(user, await insertRefresh(knex, user.id, randomUUID()));
    },

    async refresh(token: string): Promise<TokenPair> {
      const outcome = await knex.transaction(async (trx) => {
        // FOR UPDATE: two concurrent refreshes with one token serialise; the second sees it rotated
        const row = await trx<RefreshRow>('refresh_tokens').where({ token_hash: hashToken(token) }).forUpdate().first();
        if (!row) return { error: new UnauthorizedError('refresh token invalid', 'refresh_token_invalid') };
        if (row.revoked_at || row.rotated_at) {
          await revokeFamily(trx, row.family_id);
          return { error: new UnauthorizedError('refresh token already used; all sessions from this login were revoked', 'refresh_token_reused') };
        }
        if (row.expires_at.getTime() <= Date.now()) return { error: new UnauthorizedError('refresh token expired', 'refresh_token_expired') };
        const user = await deps.users.findById(row.user_id);
        if (!user) return { error: new UnauthorizedError('refresh token invalid', 'refresh_token_invalid') };
        await trx('refresh_tokens').where({ id: row.id }).update({ rotated_at: knex.fn.now() });
        return { user, refresh: await insertRefresh(trx, row.user_id, row.family_id) };
      });
      // thrown after commit, so a reuse's family revocation is kept
      if ('error' in outcome) throw outcome.error;
      return pair(outcome.user, outcome.refresh);
    },

    /** Revokes the token's family. Unknown tokens are fine: logout is idempotent. */
    async logout(token: string): Promise<void> {
      const row = await knex<RefreshRow>('refresh_tokens').where({ token_hash: hashToken(token) }).first();
      if (row) await revokeFamily(knex, row.family_id);
    },

    /** Every session of a user, e.g. after a password change. */
    async revokeAll(userId: string): Promise<void> {
      await knex('refresh_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: knex.fn.now() });
    },
  };
}
export type Sessions = ReturnType<typeof createSessions>;
