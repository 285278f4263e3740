// Aggregation-group timer state, so a restarted or newly elected dispatcher resumes a group's timers
// (group_interval ticks from the last flush, escalation steps already taken) instead of re-waiting or re-sending.
import type { Knex } from 'knex';

export interface GroupState {
  groupKey: string;
  receiver: string;
  /** When the group was first seen (its group_wait runs from here). */
  createdAt: Date;
  firstFlushAt?: Date;
  lastFlushAt?: Date;
  /** When the route's own receiver was first notified of the current firing episode (escalation runs from here). */
  firstNotifiedAt?: Date;
  /** Escalation steps already notified in the current episode. */
  escalationLevel: number;
}

export interface GroupStateStore {
  get(groupKey: string): Promise<GroupState | undefined>;
  list(): Promise<GroupState[]>;
  /** Creates the row unless it exists; returns the stored state (an existing row wins). */
  create(s: GroupState): Promise<GroupState>;
  update(groupKey: string, patch: Partial<Omit<GroupState, 'groupKey'>>): Promise<void>;
  delete(groupKey: string): Promise<void>;
}

interface GroupRow {
  group_key: string;
  receiver: string;
  created_at: Date;
  first_flush_at: Date | null;
  last_flush_at: Date | null;
  first_notified_at: Date | null;
  escalation_level: number;
}

const fromRow = (r: GroupRow): GroupState => ({
  groupKey: r.group_key,
  receiver: r.receiver,
  createdAt: r.created_at,
  ...(r.first_flush_at ? { firstFlushAt: r.first_flush_at } : {}),
  ...(r.last_flush_at ? { lastFlushAt: r.last_flush_at } : {}),
  ...(r.first_notified_at ? { firstNotifiedAt: r.first_notified_at } : {}),
  escalationLevel: r.escalation_level,
});

export class PgGroupStateStore implements GroupStateStore {
  constructor(private readonly db: Knex) {}

  async get(groupKey: string): Promise<GroupState | undefined> {
    const r = await this.db<GroupRow>('aggregation_groups').where({ group_key: groupKey }).first();
    return r ? fromRow(r) : undefined;
  }

  async list(): Promise<GroupState[]> {
    return (await this.db<GroupRow>('aggregation_groups').orderBy('group_key')).map(fromRow);
  }

  async create(s: GroupState): Promise<GroupState> {
    await this.db('aggregation_groups')
      .insert({
        group_key: s.groupKey,
        receiver: s.receiver,
        created_at: s.createdAt,
        first_flush_at: s.firstFlushAt ?? null,
        last_flush_at: s.lastFlushAt ?? null,
        first_notified_at: s.firstNotifiedAt ?? null,
        escalation_level: s.escalationLevel,
      })
      .onConflict('group_key')
      .ignore();
    return (await this.get(s.groupKey))!;
  }

  async update(groupKey: string, p: Partial<Omit<GroupState, 'groupKey'>>): Promise<void> {
    const row: Partial<GroupRow> = {};
    if ('receiver' in p && p.receiver !== undefined) row.receiver = p.receiver;
    if ('createdAt' in p && p.createdAt !== undefined) row.created_at = p.createdAt;
    if ('firstFlushAt' in p) row.first_flush_at = p.firstFlushAt ?? null;
    if ('lastFlushAt' in p) row.last_flush_at = p.lastFlushAt ?? null;
    if ('firstNotifiedAt' in p) row.first_notified_at = p.firstNotifiedAt ?? null;
    if ('escalationLevel' in p && p.escalationLevel !== undefined) row.escalation_level = p.escalationLevel;
    if (Object.keys(row).length === 0) return;
    await this.db('aggregation_groups').where({ group_key: groupKey }).update(row);
  }

  async delete(groupKey: string): Promise<void> {
    await this.db('aggregation_groups').where({ group_key: groupKey }).delete();
  }
}
