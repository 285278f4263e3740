// Aggregation-group timer state, so a restarted or newly elected dispatcher resumes a group's timers
// (group_interval ticks from the last flush, escalation steps already taken) instead of re-waiting or re-sending.
// Creations and updates of one turn of the event loop are batched (store/batch.ts): a burst of new groups is
// one INSERT, the flushes of one tick one UPDATE.
import type { Knex } from 'knex';
import { batcher } from './batch.js';

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

type Patch = Partial<Omit<GroupState, 'groupKey'>>;

/** The columns a patch sets, with their Postgres types and row values. */
const COLUMNS: { key: keyof Patch; column: keyof GroupRow; type: string; value: (p: Patch) => string | number | Date | null | undefined }[] = [
  { key: 'receiver', column: 'receiver', type: 'text', value: (p) => p.receiver },
  { key: 'createdAt', column: 'created_at', type: 'timestamptz', value: (p) => p.createdAt },
  { key: 'firstFlushAt', column: 'first_flush_at', type: 'timestamptz', value: (p) => p.firstFlushAt ?? null },
  { key: 'lastFlushAt', column: 'last_flush_at', type: 'timestamptz', value: (p) => p.lastFlushAt ?? null },
  { key: 'firstNotifiedAt', column: 'first_notified_at', type: 'timestamptz', value: (p) => p.firstNotifiedAt ?? null },
  { key: 'escalationLevel', column: 'escalation_level', type: 'integer', value: (p) => p.escalationLevel },
];

/** The columns a patch sets: a key present with undefined clears a nullable column; receiver, createdAt and escalationLevel are never cleared. */
const columnsOf = (p: Patch): typeof COLUMNS =>
  COLUMNS.filter((c) => c.key in p && (p[c.key] !== undefined || (c.key !== 'receiver' && c.key !== 'createdAt' && c.key !== 'escalationLevel')));

const toRow = (s: GroupState): GroupRow => ({
  group_key: s.groupKey,
  receiver: s.receiver,
  created_at: s.createdAt,
  first_flush_at: s.firstFlushAt ?? null,
  last_flush_at: s.lastFlushAt ?? null,
  first_notified_at: s.firstNotifiedAt ?? null,
  escalation_level: s.escalationLevel,
});

export class PgGroupStateStore implements GroupStateStore {
  private readonly creates = batcher<GroupState, GroupState>((states) => this.createMany(states));
  private readonly updates = batcher<{ groupKey: string; patch: Patch }, void>((items) => this.updateMany(items));

  constructor(private readonly db: Knex) {}

  async get(groupKey: string): Promise<GroupState | undefined> {
    const r = await this.db<GroupRow>('aggregation_groups').where({ group_key: groupKey }).first();
    return r ? fromRow(r) : undefined;
  }

  async list(): Promise<GroupState[]> {
    return (await this.db<GroupRow>('aggregation_groups').orderBy('group_key')).map(fromRow);
  }

  create(s: GroupState): Promise<GroupState> {
    return this.creates.load(s);
  }

  update(groupKey: string, patch: Patch): Promise<void> {
    if (columnsOf(patch).length === 0) return Promise.resolve();
    return this.updates.load({ groupKey, patch });
  }

  async delete(groupKey: string): Promise<void> {
    await this.db('aggregation_groups').where({ group_key: groupKey }).delete();
  }

  /** Inserts the rows that do not exist yet; an existing row wins (read back only for those: usually none). */
  private async createMany(states: readonly GroupState[]): Promise<GroupState[]> {
    const first = new Map<string, GroupState>();
    for (const s of states) if (!first.has(s.groupKey)) first.set(s.groupKey, s);
    const inserted = await this.db.raw<{ rows: { group_key: string }[] }>(
      `INSERT INTO aggregation_groups (group_key, receiver, created_at, first_flush_at, last_flush_at, first_notified_at, escalation_level)
       SELECT * FROM json_to_recordset(?::json) AS v(group_key text, receiver text, created_at timestamptz, first_flush_at timestamptz,
         last_flush_at timestamptz, first_notified_at timestamptz, escalation_level integer)
       ON CONFLICT (group_key) DO NOTHING RETURNING group_key`,
      [JSON.stringify([...first.values()].map(toRow))],
    );
    const ours = new Set(inserted.rows.map((r) => r.group_key));
    const existing = [...first.keys()].filter((k) => !ours.has(k));
    const stored = new Map<string, GroupState>();
    for (const k of ours) stored.set(k, first.get(k)!);
    if (existing.length > 0) {
      const { rows } = await this.db.raw<{ rows: GroupRow[] }>('SELECT * FROM aggregation_groups WHERE group_key = ANY(?::text[])', [existing]);
      for (const r of rows) stored.set(r.group_key, fromRow(r));
    }
    return states.map((s) => stored.get(s.groupKey) ?? s);
  }

  /**
   * One UPDATE … FROM json_to_recordset(…) per set of columns: the patches of one group are merged in call order first,
   * so the result is that of the updates run one after another.
   */
  private async updateMany(items: readonly { groupKey: string; patch: Patch }[]): Promise<void[]> {
    const merged = new Map<string, Patch>();
    for (const { groupKey, patch } of items) merged.set(groupKey, { ...merged.get(groupKey), ...patch });
    const byShape = new Map<string, { columns: typeof COLUMNS; rows: [string, Patch][] }>();
    for (const [groupKey, patch] of merged) {
      const columns = columnsOf(patch);
      const shape = columns.map((c) => c.column).join(',');
      const entry = byShape.get(shape) ?? { columns, rows: [] };
      entry.rows.push([groupKey, patch]);
      byShape.set(shape, entry);
    }
    for (const { columns, rows } of byShape.values()) {
      const sets = columns.map((c) => `${c.column} = v.${c.column}`).join(', ');
      const types = columns.map((c) => `${c.column} ${c.type}`).join(', ');
      const json = rows.map(([groupKey, p]) => Object.fromEntries([['group_key', groupKey], ...columns.map((c) => [c.column, c.value(p) ?? null])]));
      await this.db.raw(`UPDATE aggregation_groups AS g SET ${sets} FROM json_to_recordset(?::json) AS v(group_key text, ${types}) WHERE g.group_key = v.group_key`, [JSON.stringify(json)]);
    }
    return items.map(() => undefined);
  }
}
