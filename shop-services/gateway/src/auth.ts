import type Koa from 'koa';
import { bearerToken, UnauthorizedError, isAppError, type AccessTokenVerifier, type AuthUser } from '@lantern/shop-common';
import { authRejections } from './metrics.js';
import { isPublic } from './routing.js';

/**
 * Verifies the end user's access token at the edge and puts the user on ctx.state.user (the proxy
 * forwards it inside the internal token). Protected routes need a valid token (401 otherwise).
 * On public routes a bad or expired token is ignored rather than refused: browsing keeps working
 * for a client that has not refreshed yet, and login/refresh must work with an expired token.
 */
export function authenticate(verifier: AccessTokenVerifier, known: (path: string) => boolean): Koa.Middleware {
  const rejections = authRejections();
  // not async: an anonymous request on a public route passes without a promise of its own
  return function edgeAuth(ctx, next) {
    // paths nobody serves are a 404 for everyone, not a 401 that hints something is there
    const open = isPublic(ctx.method, ctx.path) || !known(ctx.path);
    const token = bearerToken(ctx.get('authorization') || undefined);
    if (!token) {
      if (!open) {
        rejections.inc({ reason: 'missing' });
        throw new UnauthorizedError('an access token is required: Authorization: Bearer <token>', 'token_missing');
      }
      return next();
    }
    return withUser(ctx, next, token, open);
  };

  async function withUser(ctx: Koa.Context, next: Koa.Next, token: string, open: boolean): Promise<void> {
    let user: AuthUser | undefined;
    try {
      const verified = await verifier.verify(token);
      user = { id: verified.id, role: verified.role, ...(verified.email ? { email: verified.email } : {}) };
    } catch (err) {
      if (!isAppError(err)) throw err;
      if (!open) {
        rejections.inc({ reason: err.code });
        throw err;
      }
    }
    if (user) ctx.state.user = user;
    return next();
  }
}
