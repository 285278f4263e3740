/**
 * TTL with random jitter: entries written together (a warm-up, a traffic spike) must not all expire
 * in the same second and send every request to the database at once (cache avalanche).
 * Returns ttl * (1 ± ratio), at least 1.
 */
export function jitteredTtl(ttl: number, ratio: number, random: () => number = Math.random): number {
  const spread = ttl * ratio;
  return Math.max(1, Math.round(ttl - spread + random() * 2 * spread));
}
