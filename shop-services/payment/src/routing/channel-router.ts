import { SpanStatusCode, trace } from '@opentelemetry/api';
import { CircuitOpenError, createCircuitBreaker, observeWithExemplar, withTimeout, type CircuitBreaker, type CircuitStateName } from '@lantern/sdk';
import type { Logger, PaymentChannel } from '@lantern/shop-common';
import { ChannelError, type ChargeResult, type PaymentChannelAdapter, type RefundResult } from '../channels/types.js';
import { channelRequestDuration, failoverLookupsTotal, failoversTotal, refundLookupsTotal } from '../metrics.js';
import { channelScore, HealthWindow, type CallOutcome, type WindowStats } from './health-window.js';

const tracer = trace.getTracer('@lantern/shop-payment');

export interface RouterOptions {
  /** Enabled channels, in tie-break order. */
  channels: readonly PaymentChannelAdapter[];
  windowMs: number;
  windowMaxCalls: number;
  latencyPenaltyPerSecond: number;
  channelTimeoutMs: number;
  /** One lookup of an unanswered charge's or refund's reference (not cut by the charge's deadline). */
  lookupTimeoutMs: number;
  breaker: { failureThreshold: number; halfOpenAfterMs: number };
  logger: Logger;
}

export interface ChannelStatus {
  channel: PaymentChannel;
  state: CircuitStateName;
  score: number;
  window: WindowStats;
}

/** Hooks the payment service gives the router, so every attempt is in the ledger before the channel sees it. */
export interface AttemptHooks {
  /** Records the attempt and returns its id: the reference the channel records. */
  start(channel: PaymentChannel, seq: number): Promise<string>;
  /**
   * The channel's answer to an attempt. The router does no I/O between it and the next start() or
   * its own return, so the hooks may write it together with the next attempt or the settlement.
   */
  finish(reference: string, result: { outcome: 'success' | 'pending' | 'declined' | 'error'; channelRef?: string; error?: string; latencyMs: number }): Promise<void>;
}

export type RoutedCharge =
  | { status: 'succeeded' | 'pending'; channel: PaymentChannel; channelRef: string; reference: string }
  | { status: 'declined'; channel: PaymentChannel; channelRef: string; reference: string; reason: string }
  /** No channel answered within the deadline (all failed, open or out of time). */
  | { status: 'unavailable'; reason: string; tried: PaymentChannel[] }
  /**
   * A call to `channel` ended without an answer and the channel could not say whether it charged
   * (its lookup failed): the outcome is unknown, so nothing else was tried. The attempt `reference`
   * is left in flight for recovery to settle from the channel's records.
   */
  | { status: 'unknown'; channel: PaymentChannel; reference: string; error: string; latencyMs: number };

/** What the channel's records say about a charge or refund whose call ended without an answer. */
export type LookupOutcome<T> = { found: T | undefined } | { failed: string };

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Picks the healthiest channel and fails over. Each channel has a sliding window of its recent calls
 * (answered ratio and latency → score) and a circuit breaker (the SDK's, cockatiel underneath). A
 * charge tries the allowed channels best score first; a decline ends it (the customer's money said
 * no; another channel would not change that). A call that ends without an answer (timeout,
 * unavailable) may still have charged, so the channel is asked for the attempt's reference first:
 * its record is the answer; no record moves on to the next channel; no word at all ends the charge
 * undecided (unknown), since moving on could charge twice.
 */
export class ChannelRouter {
  private readonly adapters = new Map<PaymentChannel, PaymentChannelAdapter>();
  private readonly windows = new Map<PaymentChannel, HealthWindow>();
  private readonly breakers = new Map<PaymentChannel, CircuitBreaker>();
  /** When each breaker last opened: an open breaker admits a trial call halfOpenAfterMs later. */
  private readonly openedAt = new Map<PaymentChannel, number>();
  readonly order: readonly PaymentChannel[];

  constructor(private readonly opts: RouterOptions) {
    this.order = opts.channels.map((c) => c.name);
    for (const adapter of opts.channels) {
      this.adapters.set(adapter.name, adapter);
      this.windows.set(adapter.name, new HealthWindow(opts.windowMs, opts.windowMaxCalls));
      const breaker = createCircuitBreaker({
        name: `payment-channel:${adapter.name}`,
        failureThreshold: opts.breaker.failureThreshold,
        halfOpenAfterMs: opts.breaker.halfOpenAfterMs,
        isFailure: (err) => err instanceof ChannelError || (err as { code?: unknown })?.code === 'ETIMEOUT',
      });
      breaker.onStateChange((to) => {
        if (to === 'open') this.openedAt.set(adapter.name, Date.now());
      });
      this.breakers.set(adapter.name, breaker);
    }
  }

  has(channel: string): channel is PaymentChannel {
    return this.adapters.has(channel as PaymentChannel);
  }

  adapter(channel: PaymentChannel): PaymentChannelAdapter {
    const a = this.adapters.get(channel);
    if (!a) throw new Error(`channel ${channel} is not enabled`);
    return a;
  }

  /** Window statistics, breaker state and score of each enabled channel (GET /payments/channels). */
  status(): ChannelStatus[] {
    return this.order.map((channel) => {
      const window = this.windows.get(channel)!.stats();
      return { channel, state: this.breakers.get(channel)!.state, score: channelScore(window, this.opts.latencyPenaltyPerSecond), window };
    });
  }

  /**
   * The allowed channels, best first: channels whose breaker admits a call before the others, then
   * score, then the configured order. Open ones stay in the list (last): charge() skips them until
   * their breaker is due for a trial call.
   */
  rank(allowed?: readonly PaymentChannel[]): PaymentChannel[] {
    const set = allowed ? this.order.filter((c) => allowed.includes(c)) : [...this.order];
    const scored = set.map((channel, index) => {
      const open = !this.admits(channel);
      return { channel, index, open, score: channelScore(this.windows.get(channel)!.stats({ percentile: false }), this.opts.latencyPenaltyPerSecond) };
    });
    scored.sort((a, b) => Number(a.open) - Number(b.open) || b.score - a.score || a.index - b.index);
    return scored.map((s) => s.channel);
  }

  /**
   * The order a charge would try channels in now (rank()) and the one it would call first (undefined:
   * every allowed breaker is open), so the caller can write that first attempt with its own insert.
   */
  plan(allowed?: readonly PaymentChannel[]): { order: PaymentChannel[]; first: PaymentChannel | undefined } {
    const order = this.rank(allowed);
    return { order, first: order.find((c) => this.admits(c)) };
  }

  /**
   * Charges through the best channel, failing over on calls without an answer that the channel has no
   * record of (see unanswered()), until one answers or `deadlineAt` passes.
   * `order` is a plan() made just before (default: rank `allowed` now).
   */
  async charge(req: { paymentId: string; amountCents: number; currency: string; allowed?: readonly PaymentChannel[]; order?: readonly PaymentChannel[]; deadlineAt: number }, hooks: AttemptHooks): Promise<RoutedCharge> {
    const tried: PaymentChannel[] = [];
    const reasons: string[] = [];
    let seq = 0;
    for (const channel of req.order ?? this.rank(req.allowed)) {
      const remaining = req.deadlineAt - Date.now();
      if (remaining <= 0) {
        reasons.push('deadline reached');
        break;
      }
      if (!this.admits(channel)) {
        reasons.push(`${channel}: circuit open`);
        continue;
      }
      seq += 1;
      const reference = await hooks.start(channel, seq);
      tried.push(channel);
      const started = performance.now();
      try {
        const result = await this.call(channel, 'charge', Math.min(this.opts.channelTimeoutMs, remaining), (signal) =>
          this.adapter(channel).charge({ reference, paymentId: req.paymentId, amountCents: req.amountCents, currency: req.currency, signal }),
        (r: ChargeResult) => (r.status === 'declined' ? 'declined' : 'success'));
        const latencyMs = Math.round(performance.now() - started);
        await hooks.finish(reference, { outcome: result.status === 'succeeded' ? 'success' : result.status, channelRef: result.channelRef, latencyMs });
        if (result.status === 'declined') return { status: 'declined', channel, channelRef: result.channelRef, reference, reason: result.reason };
        return { status: result.status, channel, channelRef: result.channelRef, reference };
      } catch (err) {
        const latencyMs = Math.round(performance.now() - started);
        const decided = await this.unanswered(channel, reference, req.paymentId, err, latencyMs, hooks);
        if (decided) return decided;
        reasons.push(`${channel}: ${errorText(err)}`);
        failoversTotal.inc({ channel });
        this.opts.logger.warn({ channel, paymentId: req.paymentId, err: errorText(err) }, 'payment channel failed; trying the next one');
      }
    }
    return { status: 'unavailable', reason: reasons.length ? reasons.join('; ') : 'no channel available', tried };
  }

  /**
   * A charge call that ended without an answer: the channel's own records decide (the charge's result),
   * a failed lookup leaves it `unknown`, and only "no record" (undefined back, attempt finished as an
   * error) lets the caller fail over. A call the breaker refused never reached the channel: no lookup.
   */
  private async unanswered(channel: PaymentChannel, reference: string, paymentId: string, err: unknown, latencyMs: number, hooks: AttemptHooks): Promise<RoutedCharge | undefined> {
    const looked = err instanceof CircuitOpenError ? { found: undefined } : await this.lookup(channel, reference);
    if ('failed' in looked) {
      const error = `${errorText(err)}; lookup failed: ${looked.failed}`.slice(0, 500);
      this.opts.logger.warn({ channel, paymentId, reference, err: error }, 'payment channel neither answered nor could say whether it charged: left for recovery, no failover');
      return { status: 'unknown', channel, reference, error, latencyMs };
    }
    const result = looked.found;
    if (!result) {
      await hooks.finish(reference, { outcome: 'error', error: errorText(err).slice(0, 500), latencyMs });
      return undefined;
    }
    this.opts.logger.warn({ channel, paymentId, reference, status: result.status, err: errorText(err) }, 'payment channel answered after our call gave up: its records decide the charge, no failover');
    await hooks.finish(reference, { outcome: result.status === 'succeeded' ? 'success' : result.status, channelRef: result.channelRef, latencyMs });
    if (result.status === 'declined') return { status: 'declined', channel, channelRef: result.channelRef, reference, reason: result.reason };
    return { status: result.status, channel, channelRef: result.channelRef, reference };
  }

  /**
   * Asks `channel` for the charge by `reference` after its call ended without an answer. Outside the
   * breaker (the lookup must be tried even when the failure just opened it) and the routing window
   * (it is not a charge), with its own timeout, not cut by the charge's deadline: whether money moved
   * has to be known before anything else is tried. Counted in payment_failover_lookups_total.
   */
  private async lookup(channel: PaymentChannel, reference: string): Promise<LookupOutcome<ChargeResult>> {
    return this.ask(channel, 'lookup', failoverLookupsTotal, (signal) => this.adapter(channel).lookup({ reference, signal }));
  }

  /**
   * Asks `channel` for the refund by `reference` (our refund id) after its call ended without an
   * answer: found (refunded or rejected), none (and the channel will never refund it now) or failed.
   * Same rules as a charge's lookup; counted in payment_refund_lookups_total.
   */
  async lookupRefund(channel: PaymentChannel, reference: string): Promise<LookupOutcome<RefundResult>> {
    return this.ask(channel, 'refund lookup', refundLookupsTotal, (signal) => this.adapter(channel).lookupRefund({ reference, signal }));
  }

  /** One lookup in a `payment.channel <operation>` span, with the lookup timeout, counted by outcome. */
  private async ask<T extends { status: string }>(channel: PaymentChannel, operation: 'lookup' | 'refund lookup', counter: typeof failoverLookupsTotal, fn: (signal: AbortSignal) => Promise<T | undefined>): Promise<LookupOutcome<T>> {
    return tracer.startActiveSpan(`payment.channel ${operation}`, { attributes: { 'payment.channel': channel, 'payment.operation': operation } }, async (span) => {
      try {
        const found = await withTimeout(fn, this.opts.lookupTimeoutMs, `payment-channel-lookup:${channel}`);
        const outcome = found ? found.status : 'none';
        span.setAttribute('payment.outcome', outcome);
        counter.inc({ channel, outcome });
        return { found };
      } catch (err) {
        span.setAttribute('payment.outcome', 'error');
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(err) });
        counter.inc({ channel, outcome: 'error' });
        return { failed: errorText(err) };
      } finally {
        span.end();
      }
    });
  }

  /**
   * One call to a channel through its breaker and a timeout, measured: the latency histogram (with the
   * call's span as exemplar), the routing window and a client span. Breaker rejections are not calls:
   * thrown as they are, nothing measured.
   */
  async call<T>(channel: PaymentChannel, operation: 'charge' | 'refund', timeoutMs: number, fn: (signal: AbortSignal) => Promise<T>, classify: (result: T) => Exclude<CallOutcome, 'error'>): Promise<T> {
    return tracer.startActiveSpan(`payment.channel ${operation}`, { attributes: { 'payment.channel': channel, 'payment.operation': operation } }, async (span) => {
      const started = performance.now();
      const measure = (outcome: CallOutcome) => {
        const seconds = (performance.now() - started) / 1000;
        span.setAttribute('payment.outcome', outcome);
        // observed while the span is active, so the exemplar points at this call's trace
        observeWithExemplar(channelRequestDuration, { channel, outcome }, seconds);
        this.windows.get(channel)!.record(outcome, seconds * 1000);
      };
      try {
        const result = await this.breakers.get(channel)!.execute((signal) => withTimeout(fn, timeoutMs, `payment-channel:${channel}`, { signal }));
        measure(classify(result));
        return result;
      } catch (err) {
        if (err instanceof CircuitOpenError) {
          span.setAttribute('payment.outcome', 'rejected');
        } else {
          measure('error');
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorText(err) });
        }
        throw err;
      } finally {
        span.end();
      }
    });
  }

  /** False while the breaker is open and not yet due for a trial call (or a trial is in flight). */
  private admits(channel: PaymentChannel): boolean {
    const breaker = this.breakers.get(channel)!;
    if (breaker.state === 'closed') return true;
    if (breaker.state === 'half-open') return false;
    return Date.now() >= (this.openedAt.get(channel) ?? 0) + this.opts.breaker.halfOpenAfterMs;
  }
}
