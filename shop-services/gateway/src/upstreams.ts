import { createServiceClient, type InternalTokenSigner, type ServiceClient } from '@lantern/shop-common';
import type { GatewayConfig } from './config.js';

export type UpstreamName = 'user' | 'product' | 'recommendation' | 'order' | 'inventory' | 'payment' | 'notification' | 'flash-sale';

interface UpstreamSpec {
  url: keyof GatewayConfig & `${string}_SERVICE_URL`;
  audienceKey: keyof GatewayConfig & `${string}_SERVICE_AUDIENCE`;
  /** Audience the service checks on internal tokens (its name); override with *_SERVICE_AUDIENCE. */
  audience: string;
}

export const UPSTREAMS: Readonly<Record<UpstreamName, UpstreamSpec>> = {
  user: { url: 'USER_SERVICE_URL', audienceKey: 'USER_SERVICE_AUDIENCE', audience: 'shop-user' },
  product: { url: 'PRODUCT_SERVICE_URL', audienceKey: 'PRODUCT_SERVICE_AUDIENCE', audience: 'product' },
  recommendation: { url: 'RECOMMENDATION_SERVICE_URL', audienceKey: 'RECOMMENDATION_SERVICE_AUDIENCE', audience: 'recommendation' },
  order: { url: 'ORDER_SERVICE_URL', audienceKey: 'ORDER_SERVICE_AUDIENCE', audience: 'order' },
  inventory: { url: 'INVENTORY_SERVICE_URL', audienceKey: 'INVENTORY_SERVICE_AUDIENCE', audience: 'inventory' },
  payment: { url: 'PAYMENT_SERVICE_URL', audienceKey: 'PAYMENT_SERVICE_AUDIENCE', audience: 'payment' },
  notification: { url: 'NOTIFICATION_SERVICE_URL', audienceKey: 'NOTIFICATION_SERVICE_AUDIENCE', audience: 'notification' },
  'flash-sale': { url: 'FLASH_SALE_SERVICE_URL', audienceKey: 'FLASH_SALE_SERVICE_AUDIENCE', audience: 'flash-sale' },
};

/** One service client (keep-alive pool, breaker, retries) per configured upstream. */
export class Upstreams {
  private readonly clients = new Map<UpstreamName, ServiceClient>();

  constructor(config: GatewayConfig, signer: InternalTokenSigner) {
    for (const [name, spec] of Object.entries(UPSTREAMS) as [UpstreamName, UpstreamSpec][]) {
      const baseUrl = config[spec.url];
      if (typeof baseUrl !== 'string') continue;
      const audience = config[spec.audienceKey];
      this.clients.set(
        name,
        createServiceClient({
          // the client's name is the token audience and the label in errors and breaker metrics
          name: typeof audience === 'string' ? audience : spec.audience,
          baseUrl,
          signer,
          timeoutMs: config.UPSTREAM_TIMEOUT_MS,
          retries: config.UPSTREAM_RETRIES,
          breaker: { failureThreshold: config.BREAKER_FAILURE_THRESHOLD, halfOpenAfterMs: config.BREAKER_HALF_OPEN_MS },
          connections: config.UPSTREAM_CONNECTIONS,
        }),
      );
    }
  }

  /** The client, or undefined when the upstream's URL is not configured. */
  get(name: UpstreamName): ServiceClient | undefined {
    return this.clients.get(name);
  }

  configured(): UpstreamName[] {
    return [...this.clients.keys()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
  }
}
