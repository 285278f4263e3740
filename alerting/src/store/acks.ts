// Acknowledgements of aggregation groups (a Lantern extension): an acknowledged group sends no repeats.
// Every flush reads its group's acknowledgement; the reads of one turn of the event loop are one SELECT.
import type { Knex } from 'knex';
import type { AckStore, Acknowledgement } from '../model/stores.js';
import { batcher } from './batch.js';

interface AckRow {
  group_key: string;
  acked_by: string;
  acked_at: Date;
}

export class PgAckStore implements AckStore {
  private readonly reads = batcher<string, Acknowledgement | undefined>(async (keys) => {
    const { rows } = await this.db.raw<{ rows: AckRow[] }>('SELECT * FROM acks WHERE group_key = ANY(?::text[])', [[...new Set(keys)]]);
    const byKey = new Map(rows.map((r) => [r.group_key, { groupKey: r.group_key, by: r.acked_by, at: r.acked_at }]));
    return keys.map((k) => byKey.get(k));
  });

  constructor(private readonly db: Knex) {}

  async ack(groupKey: string, by: string, at: Date): Promise<void> {
    await this.db('acks').insert({ group_key: groupKey, acked_by: by, acked_at: at }).onConflict('group_key').merge();
  }

  get(groupKey: string): Promise<Acknowledgement | undefined> {
    return this.reads.load(groupKey);
  }

  async clear(groupKey: string): Promise<void> {
    await this.db('acks').where({ group_key: groupKey }).delete();
  }
}
