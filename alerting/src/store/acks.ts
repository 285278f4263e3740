// Acknowledgements of aggregation groups (a Lantern extension): an acknowledged group sends no repeats.
import type { Knex } from 'knex';
import type { AckStore, Acknowledgement } from '../model/stores.js';

interface AckRow {
  group_key: string;
  acked_by: string;
  acked_at: Date;
}

export class PgAckStore implements AckStore {
  constructor(private readonly db: Knex) {}

  async ack(groupKey: string, by: string, at: Date): Promise<void> {
    await this.db('acks').insert({ group_key: groupKey, acked_by: by, acked_at: at }).onConflict('group_key').merge();
  }

  async get(groupKey: string): Promise<Acknowledgement | undefined> {
    const r = await this.db<AckRow>('acks').where({ group_key: groupKey }).first();
    return r ? { groupKey: r.group_key, by: r.acked_by, at: r.acked_at } : undefined;
  }

  async clear(groupKey: string): Promise<void> {
    await this.db('acks').where({ group_key: groupKey }).delete();
  }
}
