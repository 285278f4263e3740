import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { z } from 'zod';
import { UnauthorizedError } from '../errors.js';
import { roleSchema, type AuthUser } from './types.js';
import { secretKey } from './keys.js';

/** End-user access tokens: issued by the user service, verified by the gateway (shared JWT_SECRET). */
export const ACCESS_TOKEN_ISSUER = 'lantern-shop-user';
export const ACCESS_TOKEN_AUDIENCE = 'lantern-shop';
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

export const accessClaimsSchema = z.object({
  sub: z.string().min(1),
  role: roleSchema,
  email: z.string().optional(),
  typ: z.literal('access'),
  iat: z.number(),
  exp: z.number(),
  jti: z.string().optional(),
});
export type AccessClaims = z.infer<typeof accessClaimsSchema>;

export interface AccessTokenIssuer {
  sign(user: AuthUser): Promise<{ token: string; expiresIn: number }>;
}

export function createAccessTokenIssuer(secret: string, ttlSeconds = ACCESS_TOKEN_TTL_SECONDS): AccessTokenIssuer {
  const key = secretKey(secret);
  return {
    async sign(user) {
      const token = await new SignJWT({ role: user.role, typ: 'access', ...(user.email ? { email: user.email } : {}) })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(user.id)
        .setIssuer(ACCESS_TOKEN_ISSUER)
        .setAudience(ACCESS_TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
      return { token, expiresIn: ttlSeconds };
    },
  };
}

export interface AccessTokenVerifier {
  /** Verified claims, or UnauthorizedError (code token_expired / token_invalid). */
  verify(token: string): Promise<AuthUser & { claims: AccessClaims }>;
}

export function createAccessTokenVerifier(secret: string, opts: { clockToleranceSeconds?: number } = {}): AccessTokenVerifier {
  const key = secretKey(secret);
  return {
    async verify(token) {
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: ACCESS_TOKEN_ISSUER,
          audience: ACCESS_TOKEN_AUDIENCE,
          clockTolerance: opts.clockToleranceSeconds ?? 5,
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new UnauthorizedError('access token expired', 'token_expired');
        throw new UnauthorizedError('access token invalid', 'token_invalid');
      }
      const claims = accessClaimsSchema.safeParse(payload);
      if (!claims.success) throw new UnauthorizedError('access token invalid', 'token_invalid');
      const c = claims.data;
      return { id: c.sub, role: c.role, ...(c.email ? { email: c.email } : {}), claims: c };
    },
  };
}

/** `Authorization: Bearer <token>` → token, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
