import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentDeliveryError, TransientDeliveryError, type Channel, type SendResult, type SmsMessage } from './types.js';

/** E.164: a plus, a country code, up to 15 digits in all. */
export const E164 = /^\+[1-9]\d{6,14}$/;

export interface SimulatedSmsOptions {
  sender: string;
  /** Added to every send, as a provider round trip would be. */
  latencyMs: number;
  /** Share of sends that fail transiently (the provider's 503), 0..1. */
  failureRate: number;
  /** For tests: the dice. */
  random?: () => number;
  /** Messages kept for inspection (tests, demo), oldest dropped first. */
  keep?: number;
}

export interface SentSms {
  id: string;
  from: string;
  to: string;
  text: string;
  key: string;
  at: Date;
}

export interface SimulatedSmsProvider extends Channel<SmsMessage> {
  /** The most recent messages the "carrier" accepted, oldest first. */
  readonly sent: readonly SentSms[];
}

/**
 * A stand-in SMS provider with latency and a failure rate. Like real SMS APIs that take an
 * idempotency key, it accepts a key once: a retry of a send that did go through (the response was
 * lost, or we crashed before recording it) returns the first message id instead of texting twice.
 */
export function createSimulatedSmsProvider(opts: SimulatedSmsOptions): SimulatedSmsProvider {
  const random = opts.random ?? Math.random;
  const keep = opts.keep ?? 1000;
  const sent: SentSms[] = [];
  const byKey = new Map<string, string>();
  return {
    name: 'sms',
    sent,
    async send(message: SmsMessage, key: string): Promise<SendResult> {
      if (opts.latencyMs > 0) await sleep(opts.latencyMs);
      if (!E164.test(message.to)) throw new PermanentDeliveryError('sms provider: recipient is not an E.164 phone number');
      const previous = byKey.get(key);
      if (previous) return { providerMessageId: previous };
      if (random() < opts.failureRate) throw new TransientDeliveryError('sms provider: temporarily unavailable (simulated 503)', 503);
      const entry: SentSms = { id: randomUUID(), from: opts.sender, to: message.to, text: message.text, key, at: new Date() };
      sent.push(entry);
      byKey.set(key, entry.id);
      if (sent.length > keep) {
        const dropped = sent.shift();
        if (dropped) byKey.delete(dropped.key);
      }
      return { providerMessageId: entry.id };
    },
  };
}
