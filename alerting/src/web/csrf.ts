// CSRF protection for the page's forms (create/expire silence): a same-origin check (Origin, else Referer,
// must be this server or externalURL) plus a token. The token is an HMAC of a random per-browser nonce kept
// in a SameSite=Strict, HttpOnly cookie, so a planted cookie without the key yields no valid token.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { HttpError } from '../api/http-error.js';

const COOKIE = 'lantern_csrf';
const NONCE = /^[0-9a-f]{32}$/;

export class Csrf {
  constructor(
    private readonly secret: string,
    private readonly externalURL: string,
  ) {}

  private sign(nonce: string): string {
    return createHmac('sha256', this.secret).update(`lantern-csrf\n${nonce}`).digest('hex');
  }

  /** The token for this browser's forms; sets the nonce cookie when it has none. */
  token(ctx: Context): string {
    let nonce = ctx.cookies.get(COOKIE);
    if (!nonce || !NONCE.test(nonce)) {
      nonce = randomBytes(16).toString('hex');
      ctx.cookies.set(COOKIE, nonce, { httpOnly: true, sameSite: 'strict', path: '/', secure: ctx.secure, overwrite: true });
    }
    return this.sign(nonce);
  }

  private allowedOrigins(ctx: Context): Set<string> {
    const out = new Set([`${ctx.protocol}://${ctx.host}`]);
    try {
      out.add(new URL(this.externalURL).origin);
    } catch {
      // externalURL is validated at startup; a bad one only narrows what is allowed
    }
    return out;
  }

  /** Throws 403 unless the POST comes from our own page with a valid token. */
  check(ctx: Context, form: URLSearchParams): void {
    const origin = ctx.get('origin') || originOf(ctx.get('referer'));
    if (!origin) throw new HttpError(403, 'origin: a form POST must carry an Origin or Referer header');
    if (!this.allowedOrigins(ctx).has(origin)) throw new HttpError(403, `origin: ${origin} is not this server`);
    const nonce = ctx.cookies.get(COOKIE);
    const token = form.get('_csrf') ?? '';
    if (!nonce || !NONCE.test(nonce) || !/^[0-9a-f]{64}$/.test(token)) throw new HttpError(403, '_csrf: missing or malformed form token; reload the page and try again');
    if (!timingSafeEqual(Buffer.from(this.sign(nonce), 'hex'), Buffer.from(token, 'hex'))) throw new HttpError(403, '_csrf: form token does not match; reload the page and try again');
  }
}

function originOf(referer: string): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}
