import type { PaymentChannel, PaymentMismatch } from '@lantern/shop-common';
import type { ChannelTransaction } from '../channels/types.js';

/** A payment attempt in the ledger: our record of one call to a channel. */
export interface LedgerAttempt {
  id: string;
  paymentId: string;
  orderId: string;
  amountCents: number;
  currency: string;
  outcome: 'in_flight' | 'success' | 'pending' | 'declined' | 'error';
  paymentStatus: 'processing' | 'pending' | 'succeeded' | 'failed';
}

export interface LedgerRefund {
  id: string;
  paymentId: string;
  orderId: string;
  amountCents: number;
  currency: string;
  status: 'processing' | 'succeeded' | 'failed';
}

export interface Mismatch {
  channel: PaymentChannel;
  kind: PaymentMismatch['kind'];
  /** Our reference (attempt or refund id), or the one the channel holds for a record we lack. */
  reference: string;
  channelRef?: string;
  paymentId?: string;
  orderId?: string;
  detail: string;
}

export interface CompareInput {
  channel: PaymentChannel;
  /** Ledger rows created in the window. */
  attempts: readonly LedgerAttempt[];
  refunds: readonly LedgerRefund[];
  /** The channel's records since the window's start (and possibly after its end). */
  transactions: readonly ChannelTransaction[];
  /** End of the window: channel records younger than this are not judged yet. */
  to: Date;
  /** References of the channel's records that are in the ledger but outside the window. */
  knownElsewhere: ReadonlySet<string>;
}

/**
 * The disagreements between the ledger and one channel's records:
 * - missing_in_channel: the ledger says money moved (a charge succeeded or is pending, a refund
 *   succeeded) and the channel has no record of it;
 * - missing_in_ledger: the channel holds a record whose reference the ledger does not know;
 * - amount_differs: both have it, for different amounts or currencies;
 * - status_differs: both have it and disagree on the outcome (e.g. our call errored but the channel
 *   charged; the channel settled a pending charge and the ledger never heard).
 */
export function compareChannel(input: CompareInput): Mismatch[] {
  const { channel } = input;
  const byRef = new Map(input.transactions.map((t) => [t.reference, t]));
  const out: Mismatch[] = [];
  const add = (m: Omit<Mismatch, 'channel'>) => out.push({ channel, ...m });

  for (const a of input.attempts) {
    const tx = byRef.get(a.id);
    const ids = { reference: a.id, paymentId: a.paymentId, orderId: a.orderId, ...(tx ? { channelRef: tx.channelRef } : {}) };
    const moneyMoved = a.outcome === 'success' || a.outcome === 'pending';
    if (!tx) {
      if (moneyMoved) add({ kind: 'missing_in_channel', ...ids, detail: `ledger charge ${a.id} (${a.outcome}, ${a.amountCents} ${a.currency}) has no record at ${channel}` });
      continue;
    }
    if (tx.amountCents !== a.amountCents || tx.currency !== a.currency.trim()) {
      add({ kind: 'amount_differs', ...ids, detail: `ledger charge ${a.id} is ${a.amountCents} ${a.currency.trim()}, ${channel} recorded ${tx.amountCents} ${tx.currency}` });
      continue;
    }
    const problem = chargeStatusProblem(a, tx, input.to);
    if (problem) add({ kind: 'status_differs', ...ids, detail: `charge ${a.id}: ${problem}` });
  }

  for (const r of input.refunds) {
    const tx = byRef.get(r.id);
    const ids = { reference: r.id, paymentId: r.paymentId, orderId: r.orderId, ...(tx ? { channelRef: tx.channelRef } : {}) };
    if (!tx) {
      if (r.status === 'succeeded') add({ kind: 'missing_in_channel', ...ids, detail: `ledger refund ${r.id} (${r.amountCents} ${r.currency.trim()}) has no record at ${channel}` });
      continue;
    }
    if (tx.amountCents !== r.amountCents || tx.currency !== r.currency.trim()) {
      add({ kind: 'amount_differs', ...ids, detail: `ledger refund ${r.id} is ${r.amountCents} ${r.currency.trim()}, ${channel} recorded ${tx.amountCents} ${tx.currency}` });
      continue;
    }
    const channelRefunded = tx.status === 'succeeded';
    if (channelRefunded !== (r.status === 'succeeded')) add({ kind: 'status_differs', ...ids, detail: `refund ${r.id}: ledger says ${r.status}, ${channel} says ${tx.status}` });
  }

  const inWindow = new Set([...input.attempts.map((a) => a.id), ...input.refunds.map((r) => r.id)]);
  for (const tx of input.transactions) {
    if (tx.createdAt >= input.to || inWindow.has(tx.reference) || input.knownElsewhere.has(tx.reference)) continue;
    add({ kind: 'missing_in_ledger', reference: tx.reference, channelRef: tx.channelRef, detail: `${channel} holds a ${tx.status} ${tx.kind} of ${tx.amountCents} ${tx.currency} (reference ${tx.reference}) the ledger does not know` });
  }
  return out;
}

/** Why a charge's ledger outcome and the channel's status disagree, or undefined if they agree. */
function chargeStatusProblem(a: LedgerAttempt, tx: ChannelTransaction, to: Date): string | undefined {
  switch (a.outcome) {
    case 'success':
      return tx.status === 'succeeded' ? undefined : `ledger says succeeded, ${tx.kind === 'charge' ? 'the channel says' : 'the channel holds a refund,'} ${tx.status}`;
    case 'declined':
      return tx.status === 'succeeded' ? 'ledger says declined, the channel charged it' : undefined;
    case 'pending': {
      // settled at the channel, but the ledger still waits: the callback was lost or refused
      if (tx.status === 'pending' || tx.updatedAt >= to) return undefined;
      const ledgerSettled = a.paymentStatus === 'succeeded' || a.paymentStatus === 'failed';
      if (!ledgerSettled) return `the channel settled it (${tx.status}) but the ledger is still pending`;
      return undefined;
    }
    case 'error':
    case 'in_flight':
      return tx.status === 'succeeded' ? `ledger says ${a.outcome === 'error' ? 'the call failed' : 'the call never finished'}, the channel charged it` : undefined;
  }
}
