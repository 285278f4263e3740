import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying a provider callback's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-lantern-signature';
const SIGNATURE_BYTES = 32;
/** Longer headers are refused unread (several v1 entries are allowed for secret rotation). */
const MAX_HEADER_LENGTH = 1024;

function hmac(secret: string, timestamp: number, rawBody: string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody, 'utf8').digest();
}

/** The header value a provider sends for `rawBody` at `nowSeconds`. */
export function signCallback(secret: string, rawBody: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
  return `t=${nowSeconds},v1=${hmac(secret, nowSeconds, rawBody).toString('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'expired' | 'mismatch' };

/**
 * Checks a callback signature: the timestamp within `toleranceSeconds` of now (either side: a clock
 * far ahead is as suspect as a stale replay), and one of the v1 values equal to our HMAC, compared in
 * constant time. The reason is for our logs only; the caller answers every failure the same way.
 */
export function verifyCallbackSignature(
  header: string | undefined,
  rawBody: string | undefined,
  opts: { secret: string; toleranceSeconds: number; nowSeconds?: number },
): SignatureCheck {
  if (!header || rawBody === undefined) return { ok: false, reason: 'missing' };
  if (header.length > MAX_HEADER_LENGTH) return { ok: false, reason: 'malformed' };
  let timestamp: number | undefined;
  const candidates: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return { ok: false, reason: 'malformed' };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value) || timestamp !== undefined) return { ok: false, reason: 'malformed' };
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]+$/i.test(value) || value.length !== SIGNATURE_BYTES * 2) return { ok: false, reason: 'malformed' };
      candidates.push(Buffer.from(value, 'hex'));
    }
    // other schemes (v0, future versions) are ignored, as providers do
  }
  if (timestamp === undefined || candidates.length === 0) return { ok: false, reason: 'malformed' };
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > opts.toleranceSeconds) return { ok: false, reason: 'expired' };
  const expected = hmac(opts.secret, timestamp, rawBody);
  // every candidate is compared (no early exit), so timing does not tell which one matched
  let match = false;
  for (const candidate of candidates) match = timingSafeEqual(candidate, expected) || match;
  return match ? { ok: true } : { ok: false, reason: 'mismatch' };
}
