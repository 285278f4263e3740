import { webcrypto } from 'node:crypto';
import type Koa from 'koa';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { UnauthorizedError, ForbiddenError } from '../errors.js';
import { roleSchema, type AuthUser, type Role, type ServiceCaller } from './types.js';
import { bearerToken } from './access-token.js';
import { secretKey } from './keys.js';

/**
 * Service-to-service tokens: short-lived HS256 JWTs signed with INTERNAL_AUTH_SECRET.
 * iss = calling service, aud = target service (or "shop" for any), sub/role/email = the end user
 * when the call acts for one. They travel in `Authorization: Bearer`; `typ: "internal"` keeps an
 * end-user access token from ever passing as one even if someone reused a secret.
 */
export const INTERNAL_TOKEN_TTL_SECONDS = 60;
export const ANY_SERVICE_AUDIENCE = 'shop';

const internalClaimsSchema = z.object({
  iss: z.string().min(1),
  typ: z.literal('internal'),
  sub: z.string().min(1).optional(),
  role: roleSchema.optional(),
  email: z.string().optional(),
});

export interface InternalTokenSigner {
  sign(audience: string, user?: AuthUser): Promise<string>;
}

export function createInternalTokenSigner(opts: { service: string; secret: string; ttlSeconds?: number }): InternalTokenSigner {
  const key = secretKey(opts.secret);
  const ttl = opts.ttlSeconds ?? INTERNAL_TOKEN_TTL_SECONDS;
  return {
    async sign(audience, user) {
      const jwt = new SignJWT({ typ: 'internal', ...(user ? { role: user.role, ...(user.email ? { email: user.email } : {}) } : {}) })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(opts.service)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(`${ttl}s`);
      if (user) jwt.setSubject(user.id);
      return jwt.sign(key);
    },
  };
}

export interface VerifiedInternalToken {
  caller: ServiceCaller;
  user: AuthUser | undefined;
  /** When the token stops being valid (exp), in epoch milliseconds. */
  expiresAt: number;
}

/**
 * The HMAC key imported into WebCrypto once. Given raw bytes, jose imports the key again on every
 * verification, which is about half of what a verification costs.
 */
export function importVerifyKey(secret: string | Uint8Array): Promise<webcrypto.CryptoKey> {
  const raw = typeof secret === 'string' ? secretKey(secret) : secret;
  return webcrypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
}

export async function verifyInternalToken(token: string, opts: { secret: string | Uint8Array | webcrypto.CryptoKey; audience: string }): Promise<VerifiedInternalToken> {
  const key = typeof opts.secret === 'string' ? secretKey(opts.secret) : opts.secret;
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      audience: [opts.audience, ANY_SERVICE_AUDIENCE],
      requiredClaims: ['exp', 'iss'],
      clockTolerance: 5,
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new UnauthorizedError('service token expired', 'service_token_expired');
    throw new UnauthorizedError('service token invalid', 'service_token_invalid');
  }
  const parsed = internalClaimsSchema.safeParse(payload);
  if (!parsed.success) throw new UnauthorizedError('service token invalid', 'service_token_invalid');
  const c = parsed.data;
  const user = c.sub && c.role ? { id: c.sub, role: c.role, ...(c.email ? { email: c.email } : {}) } : undefined;
  const exp = (payload as { exp: number }).exp;
  return { caller: { service: c.iss }, user, expiresAt: exp * 1000 };
}

/**
 * Refuses any request without a valid internal token (401) and puts the caller and the end user
 * it acts for on ctx.state. /healthz, /readyz and /metrics are answered by the SDK before this runs.
 */
export function requireServiceAuth(opts: { secret: string; audience: string; cacheSize?: number }): Koa.Middleware {
  const key = importVerifyKey(opts.secret);
  // Callers reuse a token for many requests (the gateway: per user, for half its life), and HMAC
  // verification through WebCrypto is the largest fixed cost of a cached read. A token is immutable,
  // so a successful verification stays true until the token expires: remember it until then (at most
  // 30 s). Only successes are remembered; a bad token is verified, and refused, every time.
  const verifiedTokens = new LRUCache<string, VerifiedInternalToken>({ max: opts.cacheSize ?? 10_000 });
  return async function serviceAuth(ctx, next) {
    const token = bearerToken(ctx.get('authorization') || undefined);
    if (!token) throw new UnauthorizedError('service token required', 'service_token_missing');
    let verified = verifiedTokens.get(token);
    if (verified === undefined || verified.expiresAt <= Date.now()) {
      verified = await verifyInternalToken(token, { secret: await key, audience: opts.audience });
      const ttl = Math.min(verified.expiresAt - Date.now(), 30_000);
      if (ttl > 0) verifiedTokens.set(token, verified, { ttl });
    }
    ctx.state.caller = verified.caller;
    ctx.state.user = verified.user;
    await next();
  };
}

/** The end user the request acts for, or 401. */
export function requireUser(ctx: Koa.Context): AuthUser {
  const user = ctx.state.user as AuthUser | undefined;
  if (!user) throw new UnauthorizedError('user authentication required', 'user_required');
  return user;
}

export function requireRole(ctx: Koa.Context, role: Role): AuthUser {
  const user = requireUser(ctx);
  if (user.role !== role) throw new ForbiddenError(`requires role ${role}`);
  return user;
}
