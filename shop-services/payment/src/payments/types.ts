import type { PaymentChannel } from '@lantern/shop-common';

export type PaymentRowStatus = 'processing' | 'pending' | 'succeeded' | 'failed';

export interface PaymentRow {
  id: string;
  order_id: string;
  idempotency_key: string | null;
  user_id: string;
  email: string | null;
  amount_cents: number;
  currency: string;
  method: PaymentChannel | null;
  channel: PaymentChannel | null;
  channel_ref: string | null;
  status: PaymentRowStatus;
  failure_reason: string | null;
  refunded_cents: number;
  refund_pending_cents: number;
  created_at: Date;
  updated_at: Date;
}

export interface AttemptRow {
  id: string;
  payment_id: string;
  seq: number;
  channel: PaymentChannel;
  amount_cents: number;
  currency: string;
  outcome: 'in_flight' | 'success' | 'pending' | 'declined' | 'error';
  channel_ref: string | null;
  error: string | null;
  latency_ms: number | null;
  created_at: Date;
  finished_at: Date | null;
}

export interface RefundRow {
  id: string;
  payment_id: string;
  idempotency_key: string | null;
  channel: PaymentChannel;
  amount_cents: number;
  currency: string;
  reason: string;
  status: 'processing' | 'succeeded' | 'failed';
  channel_ref: string | null;
  error: string | null;
  requested_by: string | null;
  created_at: Date;
  finished_at: Date | null;
}

/** A payment as the API shows it. `processing` (a charge in flight) is shown as `pending`. */
export interface Payment {
  id: string;
  orderId: string;
  userId: string;
  status: 'succeeded' | 'failed' | 'pending';
  /** The channel that answered; absent when none did. */
  channel?: PaymentChannel;
  /** The method the customer chose, if any. */
  method?: PaymentChannel;
  amountCents: number;
  currency: string;
  refundedCents: number;
  failureReason?: string;
  createdAt: string;
  updatedAt: string;
}

export interface Refund {
  id: string;
  paymentId: string;
  channel: PaymentChannel;
  amountCents: number;
  currency: string;
  reason: string;
  status: 'processing' | 'succeeded' | 'failed';
  failureReason?: string;
  createdAt: string;
}

export function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    orderId: row.order_id,
    userId: row.user_id,
    status: row.status === 'processing' ? 'pending' : row.status,
    ...(row.channel ? { channel: row.channel } : {}),
    ...(row.method ? { method: row.method } : {}),
    amountCents: row.amount_cents,
    currency: row.currency.trim(),
    refundedCents: row.refunded_cents,
    ...(row.failure_reason ? { failureReason: row.failure_reason } : {}),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toRefund(row: RefundRow): Refund {
  return {
    id: row.id,
    paymentId: row.payment_id,
    channel: row.channel,
    amountCents: row.amount_cents,
    currency: row.currency.trim(),
    reason: row.reason,
    status: row.status,
    ...(row.error ? { failureReason: row.error } : {}),
    createdAt: row.created_at.toISOString(),
  };
}
