import { LRUCache } from 'lru-cache';
import { INTERNAL_TOKEN_TTL_SECONDS, type AccessTokenVerifier, type AuthUser, type InternalTokenSigner } from '@lantern/shop-common';

/**
 * Signing an internal token costs an HMAC and a promise chain per upstream call. Tokens carry only
 * (audience, user id, role, email), so one signed token is reused for the same tuple while at least
 * half its lifetime is left: receivers always get a token with >= 30 s to live (clock skew and
 * retries stay well inside that).
 */
export function cachingSigner(inner: InternalTokenSigner, opts: { max: number; ttlSeconds?: number }): InternalTokenSigner {
  if (opts.max <= 0) return inner;
  const reuseMs = ((opts.ttlSeconds ?? INTERNAL_TOKEN_TTL_SECONDS) * 1000) / 2;
  // the promise is cached, so concurrent first calls share one signature
  const cache = new LRUCache<string, Promise<string>>({ max: opts.max, ttl: reuseMs, ttlAutopurge: false });
  return {
    sign(audience: string, user?: AuthUser): Promise<string> {
      const key = user ? `${audience}\u0000${user.id}\u0000${user.role}\u0000${user.email ?? ''}` : audience;
      const hit = cache.get(key);
      if (hit) return hit;
      const signed = inner.sign(audience, user);
      cache.set(key, signed);
      signed.catch(() => cache.delete(key));
      return signed;
    },
  };
}

/**
 * Remembers verified access tokens (keyed by the whole token, so by its signature) until they
 * expire, at most 60 s. Access tokens are stateless JWTs: a token that verified once stays valid
 * until its exp, so this changes no decision, it only skips repeating the HMAC check.
 */
export function cachingVerifier(inner: AccessTokenVerifier, opts: { max: number; maxAgeMs?: number }): AccessTokenVerifier {
  if (opts.max <= 0) return inner;
  const maxAgeMs = opts.maxAgeMs ?? 60_000;
  type Verified = Awaited<ReturnType<AccessTokenVerifier['verify']>>;
  const cache = new LRUCache<string, Verified>({ max: opts.max, ttlAutopurge: false });
  return {
    async verify(token) {
      const hit = cache.get(token);
      if (hit) return hit;
      const verified = await inner.verify(token);
      const ttl = Math.min(maxAgeMs, verified.claims.exp * 1000 - Date.now());
      if (ttl > 0) cache.set(token, verified, { ttl });
      return verified;
    },
  };
}
