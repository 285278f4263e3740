import { setTimeout as sleep } from 'node:timers/promises';
import type { InternalTokenSigner, Logger, PaymentChannel } from '@lantern/shop-common';
import { signCallback } from '../callbacks/signature.js';

/** What a provider tells us in a callback (the body of POST /payments/callbacks/:channel). */
export interface ProviderEvent {
  /** The provider's id of this event; a redelivery carries the same id. */
  eventId: string;
  type: 'charge.succeeded' | 'charge.declined';
  /** Our reference of the charge (the payment attempt id). */
  reference: string;
  providerRef: string;
  amountCents: number;
  currency: string;
  reason?: string;
  occurredAt: string;
}

export interface CallbackDeliveryOptions {
  /** Resolved at send time: the service learns its own port only after it listens. */
  url: () => string | undefined;
  secret: string;
  /** Signs the internal token the gateway would add; undefined when the URL is the gateway itself. */
  signer?: InternalTokenSigner;
  audience: string;
  maxAttempts: number;
  logger: Logger;
  /** Backoff before attempt n+1 is baseDelayMs · 2^(n-1). */
  baseDelayMs?: number;
}

/**
 * How the simulated providers call us back: a JSON POST over loopback HTTP, signed like a real
 * provider's webhook (X-Lantern-Signature: t=<unix>,v1=<hex HMAC-SHA256 of `${t}.${body}`>), retried
 * with backoff on a 5xx or a refused connection, as providers do. 4xx answers are final.
 */
export class CallbackDelivery {
  private readonly abort = new AbortController();

  constructor(private readonly opts: CallbackDeliveryOptions) {}

  /** Resolves true when the callback was accepted (2xx), false when delivery gave up. */
  async deliver(channel: PaymentChannel, event: ProviderEvent): Promise<boolean> {
    const { logger } = this.opts;
    const base = this.opts.baseDelayMs ?? 100;
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      const url = this.opts.url();
      if (url === undefined) {
        logger.warn({ channel, eventId: event.eventId }, 'provider callback not sent: no callback URL yet');
      } else {
        try {
          const status = await this.send(url, event);
          if (status >= 200 && status < 300) return true;
          if (status < 500) {
            logger.warn({ channel, eventId: event.eventId, status }, 'provider callback refused');
            return false;
          }
          logger.warn({ channel, eventId: event.eventId, status, attempt }, 'provider callback failed; will retry');
        } catch (err) {
          if (this.abort.signal.aborted) return false;
          logger.warn({ channel, eventId: event.eventId, attempt, err: (err as Error).message }, 'provider callback not delivered; will retry');
        }
      }
      if (attempt < this.opts.maxAttempts) {
        try {
          await sleep(base * 2 ** (attempt - 1), undefined, { signal: this.abort.signal });
        } catch {
          return false; // closing
        }
      }
    }
    return false;
  }

  private async send(url: string, event: ProviderEvent): Promise<number> {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-lantern-signature': signCallback(this.opts.secret, body),
    };
    if (this.opts.signer) headers.authorization = `Bearer ${await this.opts.signer.sign(this.opts.audience)}`;
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(5_000)]) });
    await res.arrayBuffer(); // release the connection
    return res.status;
  }

  /** Stops retries and in-flight deliveries. */
  close(): void {
    this.abort.abort();
  }
}
