import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { PaymentChannel } from '@lantern/shop-common';
import { chargeLedger, type AttemptFinish, type NewAttempt } from '../db/charge-ledger.js';
import type { AttemptHooks } from '../routing/channel-router.js';
import type { PaymentRow } from './types.js';

type FinishResult = Parameters<AttemptHooks['finish']>[1];

/**
 * The ledger side of one charge's attempts, as the router's hooks. Every attempt is in
 * `payment_attempts` before its channel is called; writes are folded to save round trips:
 * - the first attempt was written with the claim (`first`), for the channel the router planned;
 * - a channel's answer is kept until the next statement of this charge: the next attempt's insert,
 *   or the settlement (takeLast()). The router does no I/O in between, so a crash leaves the ledger
 *   as it would have been (at worst an attempt `in_flight`, which recovery reads from the channel).
 */
export class AttemptLog implements AttemptHooks {
  private last: AttemptFinish | undefined;

  constructor(
    private readonly knex: Knex,
    private readonly payment: PaymentRow,
    /** Written with the claim and not handed to the router yet. */
    private first: NewAttempt | undefined,
  ) {}

  async start(channel: PaymentChannel, seq: number): Promise<string> {
    const first = this.first;
    this.first = undefined;
    if (first) {
      // the router's first attempt: the row is there; only a changed plan (a breaker opened) moves it
      if (first.channel !== channel) await chargeLedger.redirectAttempt(this.knex, { id: first.id, channel });
      return first.id;
    }
    const attempt = { id: randomUUID(), channel };
    await chargeLedger.startAttempt(this.knex, this.payment, seq, attempt, this.takeLast());
    return attempt.id;
  }

  finish(reference: string, r: FinishResult): Promise<void> {
    this.last = { id: reference, outcome: r.outcome, channelRef: r.channelRef ?? null, error: r.error ?? null, latencyMs: r.latencyMs };
    return Promise.resolve();
  }

  /** The answer not written yet, for the settlement to write. */
  takeLast(): AttemptFinish | undefined {
    const last = this.last;
    this.last = undefined;
    return last;
  }

  /** Removes the first attempt if the router never used it (every channel open or out of time). */
  async dropUnused(): Promise<void> {
    if (this.first) await chargeLedger.dropUnusedAttempt(this.knex, this.first.id);
    this.first = undefined;
  }
}
