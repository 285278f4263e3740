// Optional HTTP basic auth, like Alertmanager's web config `basic_auth_users` (user → password hash).
// Hashes are scrypt (node:crypto; no native dependency): `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`,
// made with hashPassword(). Verification is constant-time; a verified (user, password) pair is cached
// by its SHA-256 so Prometheus posting every few seconds does not pay scrypt's cost per request.
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { ConfigError } from '../model/errors.js';

export interface BasicAuthConfig {
  /** username → scrypt hash from hashPassword(). */
  users: Record<string, string>;
  /** Shown in the browser's login prompt. */
  realm?: string;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const HASH_RE = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export function hashPassword(password: string, opts: { N?: number; r?: number; p?: number } = {}): string {
  const N = opts.N ?? 16384;
  const r = opts.r ?? 8;
  const p = opts.p ?? 1;
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

function parseHash(user: string, h: string): ParsedHash {
  const m = HASH_RE.exec(h);
  if (!m) throw new ConfigError(`basic_auth_users.${user}`, 'not a scrypt hash (scrypt$N$r$p$salt$hash; make one with hashPassword())');
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 1024 || (N & (N - 1)) !== 0 || r < 1 || p < 1) throw new ConfigError(`basic_auth_users.${user}`, 'scrypt parameters out of range');
  return { N, r, p, salt: Buffer.from(m[4]!, 'base64'), hash: Buffer.from(m[5]!, 'base64') };
}

/** Parses `Authorization: Basic …`; undefined when absent or malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

export function basicAuth(cfg: BasicAuthConfig, isPublic: (path: string) => boolean) {
  const users = new Map(Object.entries(cfg.users).map(([u, h]) => [u, parseHash(u, h)]));
  const verified = new Set<string>(); // sha256(user \0 password) of pairs that verified
  const dummy = parseHash('_', hashPassword('dummy', { N: 1024 })); // equal work for unknown users
  const realm = (cfg.realm ?? 'Lantern alerting').replace(/"/g, '');

  const check = (user: string, password: string): boolean => {
    const key = createHash('sha256').update(`${user}\0${password}`).digest('hex');
    if (verified.has(key)) return true;
    const h = users.get(user) ?? dummy;
    const got = scryptSync(password, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r + 1024 * 1024 });
    const ok = users.has(user) && timingSafeEqual(got, h.hash);
    if (ok) {
      if (verified.size > 1000) verified.clear(); // bounded: a few API clients, not a user base
      verified.add(key);
    }
    return ok;
  };

  return async (ctx: Context, next: Next): Promise<void> => {
    if (isPublic(ctx.path)) return next();
    const cred = parseBasic(ctx.get('authorization'));
    if (!cred || cred.user.length > 256 || cred.password.length > 1024 || !check(cred.user, cred.password)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
      ctx.type = 'application/json';
      ctx.body = JSON.stringify('authorization: valid basic auth credentials required');
      return;
    }
    return next();
  };
}
