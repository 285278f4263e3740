import type { PaymentChannel } from '@lantern/shop-common';

export interface ChargeRequest {
  /** Our id for this call (a payment attempt id); the channel records it and never charges it twice. */
  reference: string;
  paymentId: string;
  amountCents: number;
  currency: string;
  signal: AbortSignal;
}

/**
 * What a channel answered. `declined` is a real answer (the customer's card said no), not a channel
 * failure: it is not retried elsewhere. `pending` means the channel will settle later and tell us
 * through a signed callback. A channel that fails (timeout, 5xx, no connection) throws instead.
 */
export type ChargeResult =
  | { status: 'succeeded'; channelRef: string }
  | { status: 'pending'; channelRef: string }
  | { status: 'declined'; channelRef: string; reason: string };

export interface LookupRequest {
  /** The reference of a charge or refund call that ended without an answer. */
  reference: string;
  signal: AbortSignal;
}

export interface RefundRequest {
  /** Our refund id. */
  reference: string;
  /** The channel's reference of the charge being refunded. */
  chargeRef: string;
  amountCents: number;
  currency: string;
  signal: AbortSignal;
}

export type RefundResult = { status: 'succeeded'; channelRef: string } | { status: 'rejected'; channelRef: string; reason: string };

/** One entry of a channel's own records, as reconciliation reads them. */
export interface ChannelTransaction {
  reference: string;
  channelRef: string;
  kind: 'charge' | 'refund';
  amountCents: number;
  currency: string;
  status: 'succeeded' | 'declined' | 'pending';
  createdAt: Date;
  updatedAt: Date;
}

/** The one interface every payment channel sits behind. */
export interface PaymentChannelAdapter {
  readonly name: PaymentChannel;
  charge(req: ChargeRequest): Promise<ChargeResult>;
  /**
   * The channel's answer to a charge whose call ended without one (timeout, dropped connection), from
   * its own records ("retrieve by idempotency key"): what it charged (or declined) by `reference`, or
   * undefined when it holds no charge by it. Undefined is a promise as well as an answer: from then on
   * the channel refuses to charge that reference (a charge still on its way is turned away), so
   * failing over cannot charge twice. Throws when the channel cannot tell (unavailable, timeout).
   */
  lookup(req: LookupRequest): Promise<ChargeResult | undefined>;
  refund(req: RefundRequest): Promise<RefundResult>;
  /**
   * The same question for a refund whose call ended without an answer: what the channel refunded (or
   * rejected) by `reference` (our refund id), or undefined when it holds no refund by it. Undefined is
   * the same promise as lookup()'s: the channel never refunds that reference afterwards, so releasing
   * the refund's reservation cannot let the money go back twice. Throws when the channel cannot tell.
   */
  lookupRefund(req: LookupRequest): Promise<RefundResult | undefined>;
  /** The channel's records created at or after `since`, oldest first. */
  listTransactions(since: Date): Promise<ChannelTransaction[]>;
}

/** The channel failed to answer (unavailable, 5xx, timeout): counts against it and triggers failover. */
export class ChannelError extends Error {
  readonly code = 'channel_error';
  constructor(
    readonly channel: PaymentChannel,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ChannelError';
  }
}
