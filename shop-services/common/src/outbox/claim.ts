import type { Knex } from 'knex';
import { PROCESSED_EVENTS_TABLE } from './migrations.js';

/**
 * Claims an event for a consumer group inside the handler's transaction: true the first time (apply
 * the event's effects in the same transaction), false if this group already applied it (skip).
 * A concurrent claim of the same event (a redelivery during a rebalance) waits for the first
 * transaction and then returns false; if the first rolls back, the second one wins.
 */
export async function claimEvent(trx: Knex.Transaction | Knex, consumerGroup: string, eventId: string): Promise<boolean> {
  if (!consumerGroup || consumerGroup.length > 200) throw new TypeError('claimEvent: consumerGroup must be 1-200 characters');
  if (!eventId || eventId.length > 128) throw new TypeError('claimEvent: eventId must be 1-128 characters');
  const rows = (await trx(PROCESSED_EVENTS_TABLE)
    .insert({ consumer_group: consumerGroup, event_id: eventId })
    .onConflict(['consumer_group', 'event_id'])
    .ignore()
    .returning('event_id')) as unknown[];
  return rows.length === 1;
}

/** Deletes claims older than `olderThanMs` (default 14 days): redeliveries come within minutes, replays within days. */
export async function pruneProcessedEvents(knex: Knex, olderThanMs = 14 * 24 * 3600_000): Promise<number> {
  return knex(PROCESSED_EVENTS_TABLE)
    .where('processed_at', '<', new Date(Date.now() - olderThanMs))
    .delete();
}
