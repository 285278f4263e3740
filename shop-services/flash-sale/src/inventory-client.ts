import { z } from 'zod';
import { createInternalTokenSigner, createServiceClient, type ServiceClient } from '@lantern/shop-common';

/** The inventory calls a sale needs: stock set aside at creation, unsold units given back at the end. */
export interface InventoryAllocations {
  /** Sets `quantity` units of the product aside for the sale (idempotent by allocation id). Returns the product's SKU when known. */
  allocate(allocationId: string, productId: string, quantity: number): Promise<{ sku: string | undefined }>;
  /** Gives `quantity` unsold units back; `key` makes a retried return count once. */
  giveBack(allocationId: string, quantity: number, key: string): Promise<void>;
  close(): Promise<void>;
}

const skuOnly = z.looseObject({ sku: z.string().min(1).max(64).optional() });

export const INVENTORY_AUDIENCE = 'inventory';

/** HTTP client for the inventory service (internal token issued as `flash-sale`; retries only with an idempotency key). */
export function createInventoryClient(opts: { baseUrl: string; secret: string; service: string; timeoutMs?: number }): InventoryAllocations {
  const client: ServiceClient = createServiceClient({
    name: INVENTORY_AUDIENCE,
    baseUrl: opts.baseUrl,
    signer: createInternalTokenSigner({ service: opts.service, secret: opts.secret }),
    timeoutMs: opts.timeoutMs ?? 3000,
    retries: 2,
  });
  return {
    async allocate(allocationId, productId, quantity) {
      const res = await client.post('/inventory/allocations', { allocationId, productId, quantity }, { idempotencyKey: allocationId, schema: skuOnly });
      if (res.sku) return { sku: res.sku };
      // the allocation answer may not name the SKU; the stock row does (only a label on the event)
      const row = await client.get(`/inventory/${encodeURIComponent(productId)}`, { schema: skuOnly }).catch(() => undefined);
      return { sku: row?.sku };
    },
    async giveBack(allocationId, quantity, key) {
      await client.post(`/inventory/allocations/${encodeURIComponent(allocationId)}/return`, { quantity }, { idempotencyKey: key });
    },
    close: () => client.close(),
  };
}
