// Shared-secret authentication for HTTP receivers: `Authorization: Bearer <token>` (and, where a
// protocol's clients only speak basic auth, any user with the token as password).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface AuthOptions {
  bearerToken: string;
  /** Also accept `Authorization: Basic base64(user:token)` (Loki clients such as promtail send this). */
  allowBasic?: boolean;
}

// digests have a fixed length, so comparing them takes the same time whatever the token's length
const digest = (s: string) => createHash('sha256').update(s).digest();

function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** True when the request carries the configured token. */
export function authorized(req: IncomingMessage, opts: AuthOptions): boolean {
  const header = req.headers.authorization ?? '';
  const m = /^(\w+)\s+(.+)$/.exec(header.trim());
  if (!m) return false;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'bearer') return sameSecret(m[2]!, opts.bearerToken);
  if (scheme === 'basic' && opts.allowBasic) {
    const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && sameSecret(decoded.slice(colon + 1), opts.bearerToken);
  }
  return false;
}

/** The challenge sent with a 401. */
export function challenge(opts: AuthOptions): Record<string, string> {
  return { 'www-authenticate': opts.allowBasic ? 'Bearer, Basic realm="collector"' : 'Bearer' };
}
