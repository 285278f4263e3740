import type Koa from 'koa';

/**
 * The end user's IP. Every request here carries a verified service token (the gateway), which
 * appends the client address it saw to X-Forwarded-For; the rightmost entry is that one, and
 * anything to its left is client-supplied and untrusted.
 */
export function clientIp(ctx: Koa.Context): string {
  const xff = ctx.get('x-forwarded-for');
  const last = xff.split(',').map((s) => s.trim()).filter(Boolean).pop();
  return (last ?? ctx.ip ?? 'unknown').slice(0, 64);
}
