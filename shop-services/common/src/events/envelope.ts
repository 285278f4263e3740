import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Every event on the shop's Kafka topics travels in this envelope (JSON value, key = envelope key). */
export const eventEnvelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1).max(200),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  source: z.string().min(1),
  key: z.string().min(1),
  data: z.unknown(),
});
export type EventEnvelope<T = unknown> = Omit<z.infer<typeof eventEnvelopeSchema>, 'data'> & { data: T };

export function createEnvelope<T>(fields: { type: string; source: string; key: string; data: T; version?: number }): EventEnvelope<T> {
  return {
    id: randomUUID(),
    type: fields.type,
    version: fields.version ?? 1,
    occurredAt: new Date().toISOString(),
    source: fields.source,
    key: fields.key,
    data: fields.data,
  };
}

/** Thrown for an event that can never be processed (bad envelope or data): dead-lettered without retries. */
export class InvalidEventError extends Error {
  readonly code = 'invalid_event';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** Parses a Kafka value into an envelope or throws InvalidEventError naming what is wrong. */
export function decodeEnvelope(value: Buffer | null): EventEnvelope {
  if (!value) throw new InvalidEventError('empty message value');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    throw new InvalidEventError('message value is not JSON');
  }
  const r = eventEnvelopeSchema.safeParse(json);
  if (!r.success) throw new InvalidEventError(`invalid envelope: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}
