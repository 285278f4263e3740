// Links an on-call engineer clicks from a notification: a signed acknowledgement link (no login needed:
// the signature is the authorisation, the expiry bounds a leaked link) and a pre-filled silence form.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LabelSet } from '../model/labels.js';

/** How long an ack link stays valid unless the caller says otherwise: one on-call shift. */
export const DEFAULT_ACK_TTL_MS = 12 * 3600_000;

export interface AckLinkOptions {
  /** The engine's public URL, e.g. https://alerts.example.com (a trailing slash is ignored). */
  externalURL: string;
  /** HMAC key; at least 16 bytes (a short key makes the link guessable). */
  secret: string | Buffer;
  now: Date;
  ttlMs?: number;
}

export type AckLinkCheck =
  | { ok: true; groupKey: string; expiresAt: Date }
  | { ok: false; reason: 'malformed' | 'expired' | 'bad_signature' };

const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const trimSlash = (u: string) => u.replace(/\/+$/, '');

function signature(secret: string | Buffer, keyB64: string, exp: number): string {
  // domain-separated so a signature made for another purpose with the same key can never pass as an ack
  return createHmac('sha256', secret).update(`lantern-ack\n${keyB64}\n${exp}`).digest('hex');
}

function checkSecret(secret: string | Buffer): void {
  if (Buffer.byteLength(secret) < 16) throw new RangeError('ack link secret must be at least 16 bytes');
}

/** `<externalURL>/ack/<groupKey base64url>?exp=<unix seconds>&sig=<hex HMAC-SHA256>`. */
export function signAckLink(groupKey: string, opts: AckLinkOptions): string {
  checkSecret(opts.secret);
  const exp = Math.floor((opts.now.getTime() + (opts.ttlMs ?? DEFAULT_ACK_TTL_MS)) / 1000);
  const keyB64 = b64url(groupKey);
  return `${trimSlash(opts.externalURL)}/ack/${keyB64}?exp=${exp}&sig=${signature(opts.secret, keyB64, exp)}`;
}

/**
 * Checks an ack link's parts: the base64url group key from the path, and the exp and sig query
 * parameters. The signature is compared in constant time, before the expiry (so the answer for a
 * forged link never depends on how close its exp is).
 */
export function verifyAckLink(
  parts: { key: string; exp: string | undefined | null; sig: string | undefined | null },
  secret: string | Buffer,
  now: Date,
): AckLinkCheck {
  checkSecret(secret);
  const { key, exp, sig } = parts;
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(key) || !exp || !/^\d{1,12}$/.test(exp) || !sig || !/^[0-9a-f]{64}$/i.test(sig)) {
    return { ok: false, reason: 'malformed' };
  }
  const expected = Buffer.from(signature(secret, key, Number(exp)), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return { ok: false, reason: 'bad_signature' };
  if (Number(exp) * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  const groupKey = Buffer.from(key, 'base64url').toString('utf8');
  return { ok: true, groupKey, expiresAt: new Date(Number(exp) * 1000) };
}

/** Parses a whole ack URL (as received, or as put in a message) and verifies it. */
export function verifyAckUrl(url: string, secret: string | Buffer, now: Date): AckLinkCheck {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const m = /\/ack\/([^/]+)$/.exec(u.pathname);
  if (!m) return { ok: false, reason: 'malformed' };
  return verifyAckLink({ key: m[1]!, exp: u.searchParams.get('exp'), sig: u.searchParams.get('sig') }, secret, now);
}

/** A PromQL-style matcher list `{a="x",b="y"}` (sorted names, Go-style escaped values), as Alertmanager's UI filters take. */
export function matcherFilter(labels: LabelSet): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `{${parts.join(',')}}`;
}

/** Alertmanager's UI route for a new silence, pre-filled with the group's labels: `<externalURL>/#/silences/new?filter=...`. */
export function silenceFormUrl(externalURL: string, labels: LabelSet): string {
  return `${trimSlash(externalURL)}/#/silences/new?filter=${encodeURIComponent(matcherFilter(labels))}`;
}

/** The engine's page for one aggregation group. */
export function groupPageUrl(externalURL: string, groupKey: string): string {
  return `${trimSlash(externalURL)}/#/groups/${b64url(groupKey)}`;
}
