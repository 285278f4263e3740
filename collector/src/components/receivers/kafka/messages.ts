// Kafka message → pipeline data. A message that cannot be turned into data is a "poison" message:
// the receiver skips it (and counts it) rather than retrying it forever and blocking its partition.
import type { KafkaMessage } from 'kafkajs';
import { headerString, SIGNAL_HEADER } from '../../../kafka/client.js';
import { decodeLogs, decodeMetrics, decodeTracesLazy } from '../../../otlp/index.js';
import { itemCount, SIGNALS, type Signal, type SignalData } from '../../../pipeline/types.js';

export type SkipReason = 'undecodable' | 'wrong_signal';

export type Decoded =
  | { ok: true; signal: Signal; data: SignalData[Signal]; items: number }
  | { ok: false; signal: Signal; reason: SkipReason; message: string };

const DECODERS: { [S in Signal]: (body: Uint8Array) => SignalData[S] } = {
  traces: (b) => decodeTracesLazy(b),
  logs: (b) => decodeLogs(b),
  metrics: (b) => decodeMetrics(b),
};

/**
 * Which signal a message carries: the topic's signal, or, when one topic carries several signals,
 * the `otlp-signal` header our exporter writes. A header naming a signal this topic is not read for
 * is refused rather than decoded as the wrong type.
 */
function signalOf(signals: readonly Signal[], message: KafkaMessage): Signal | { reason: SkipReason; message: string } {
  const header = headerString(message.headers?.[SIGNAL_HEADER]);
  if (header === undefined) {
    if (signals.length === 1) return signals[0]!;
    return { reason: 'wrong_signal', message: `the topic carries ${signals.join(', ')} and the message has no ${SIGNAL_HEADER} header` };
  }
  const s = SIGNALS.find((x) => x === header);
  if (s && signals.includes(s)) return s;
  return { reason: 'wrong_signal', message: `${SIGNAL_HEADER} "${header.slice(0, 40)}" is not a signal read from this topic (${signals.join(', ')})` };
}

export function decodeMessage(signals: readonly Signal[], message: KafkaMessage): Decoded {
  const signal = signalOf(signals, message);
  if (typeof signal !== 'string') return { ok: false, signal: signals[0]!, ...signal };
  if (!message.value) return { ok: false, signal, reason: 'undecodable', message: 'the message has no value' };
  try {
    const data = DECODERS[signal](message.value);
    return { ok: true, signal, data, items: itemCount(signal, data) };
  } catch (err) {
    return { ok: false, signal, reason: 'undecodable', message: err instanceof Error ? err.message : String(err) };
  }
}
