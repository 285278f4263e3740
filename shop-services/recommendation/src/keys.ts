/**
 * Redis key layout. Everything lives under one prefix so tests (and several shops sharing a Redis)
 * never see each other's data.
 */
export interface RecoKeys {
  /** Sorted set: other product id → number of orders containing both. */
  boughtTogether(productId: string): string;
  /** Sorted set: product id → popularity score within a category. */
  popularCategory(category: string): string;
  /** Sorted set: product id → popularity score over all categories. */
  popularGlobal(): string;
  /** List, most recent first, deduplicated and capped. */
  recentViews(userId: string): string;
  /** Hash: product id → category slug, learnt from orders and views. */
  productCategory(): string;
  /** String marker set once an order has been counted (idempotence). */
  orderProcessed(orderId: string): string;
}

export function recoKeys(prefix: string): RecoKeys {
  const p = prefix.endsWith(':') || prefix === '' ? prefix : `${prefix}:`;
  return {
    boughtTogether: (id) => `${p}bt:${id}`,
    popularCategory: (c) => `${p}pop:cat:${c}`,
    popularGlobal: () => `${p}pop:all`,
    recentViews: (u) => `${p}views:${u}`,
    productCategory: () => `${p}product-category`,
    orderProcessed: (o) => `${p}order-done:${o}`,
  };
}
