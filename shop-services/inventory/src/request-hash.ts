import { createHash } from 'node:crypto';

/**
 * Fingerprint of a request's meaning, for idempotency: the same order id with the same fingerprint is
 * a retry (answered from the stored row), with another one a conflict. Lines are sorted, so the
 * order in which a client lists its items does not matter.
 */
export function requestHash(kind: string, value: { lines?: readonly { productId: string; quantity: number }[]; [k: string]: unknown }): string {
  const { lines, ...rest } = value;
  const canonical = {
    kind,
    ...Object.fromEntries(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v ?? null])),
    ...(lines ? { lines: [...lines].map((l) => [l.productId, l.quantity]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)) } : {}),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
