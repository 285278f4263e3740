// SilenceStore on Postgres with Alertmanager's update rules (silence/silence.go Set/canUpdate/expire):
// an update that changes matchers, or moves an active silence's start, expires the old silence and
// creates a new one with a new id.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { NotFoundError } from '../model/errors.js';
import type { LabelSet } from '../model/labels.js';
import { silenceState, type Matcher, type PostableSilence, type Silence } from '../model/silence.js';
import type { SilenceStore } from '../model/stores.js';

interface SilenceRow {
  id: string;
  matchers: Matcher[];
  starts_at: Date;
  ends_at: Date;
  created_by: string;
  comment: string;
  annotations: LabelSet;
  updated_at: Date;
}

const fromRow = (r: SilenceRow): Silence => ({
  id: r.id,
  matchers: r.matchers,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  createdBy: r.created_by,
  comment: r.comment,
  annotations: r.annotations,
  updatedAt: r.updated_at,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sameMatchers = (a: Matcher[], b: Matcher[]): boolean =>
  a.length === b.length &&
  a.every((m, i) => {
    const o = b[i]!;
    return m.name === o.name && m.value === o.value && m.isRegex === o.isRegex && m.isEqual === o.isEqual;
  });

/** AM canUpdate: whether `next` may change `prev` in place rather than replace it. */
export function canUpdateInPlace(prev: Silence, next: PostableSilence, now: Date): boolean {
  if (!sameMatchers(prev.matchers, next.matchers)) return false;
  switch (silenceState(prev, now)) {
    case 'active':
      return next.startsAt.getTime() === prev.startsAt.getTime() && next.endsAt.getTime() >= now.getTime();
    case 'pending':
      return next.startsAt.getTime() >= now.getTime();
    case 'expired':
      return false;
  }
}

const normMatchers = (ms: Matcher[]): Matcher[] => ms.map((m) => ({ name: m.name, value: m.value, isRegex: m.isRegex, isEqual: m.isEqual }));

export class PgSilenceStore implements SilenceStore {
  /** A list query in flight, and whether this store changed a silence since it started (see list()). */
  private listing: { rows: Promise<Silence[]>; stale: boolean } | undefined;

  constructor(private readonly db: Knex) {}

  async upsert(s: PostableSilence, now: Date): Promise<string> {
    return this.changing(() => this.upsertRow(s, now));
  }

  private upsertRow(s: PostableSilence, now: Date): Promise<string> {
    return this.db.transaction(async (trx) => {
      let prev: Silence | undefined;
      if (s.id !== undefined && s.id !== '') {
        const row = UUID.test(s.id) ? await trx<SilenceRow>('silences').where({ id: s.id }).forUpdate().first() : undefined;
        if (!row) throw new NotFoundError(`silence ${s.id} not found`);
        prev = fromRow(row);
      }
      const fields = {
        matchers: JSON.stringify(normMatchers(s.matchers)),
        ends_at: s.endsAt,
        created_by: s.createdBy,
        comment: s.comment,
        annotations: s.annotations ?? {},
        updated_at: now,
      };
      if (prev && canUpdateInPlace(prev, s, now)) {
        await trx('silences').where({ id: prev.id }).update({ ...fields, starts_at: s.startsAt });
        return prev.id;
      }
      const id = randomUUID();
      // A new silence never starts in the past (AM clamps startsAt to now).
      const startsAt = s.startsAt.getTime() < now.getTime() ? now : s.startsAt;
      await trx('silences').insert({ id, ...fields, starts_at: startsAt });
      if (prev && silenceState(prev, now) !== 'expired') await expireRow(trx, prev, now);
      return id;
    });
  }

  async get(id: string): Promise<Silence | undefined> {
    if (!UUID.test(id)) return undefined;
    const row = await this.db<SilenceRow>('silences').where({ id }).first();
    return row ? fromRow(row) : undefined;
  }

  /**
   * Every silence. Every flush reads them: callers arriving while a list query is in flight share it (a tick
   * of 500 groups is one query, not 500), unless this store changed a silence since the query started, so
   * a silence set here applies to every flush that starts after it was stored. (A silence stored by another
   * replica is seen by the next query, a lag of one query at most.)
   */
  list(): Promise<Silence[]> {
    if (this.listing && !this.listing.stale) return this.listing.rows;
    const listing = {
      stale: false,
      rows: this.db<SilenceRow>('silences')
        .orderBy('starts_at')
        .orderBy('id')
        .then((rows) => rows.map(fromRow))
        .finally(() => {
          if (this.listing === listing) this.listing = undefined;
        }),
    };
    this.listing = listing;
    return listing.rows;
  }

  /** Runs a change; list queries in flight from before it ended are not shared any more. */
  private async changing<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      if (this.listing) this.listing.stale = true;
    }
  }

  /** Expiring an expired silence is a no-op (AM errors; amtool only accepts 200, so idempotent is kinder). */
  async expire(id: string, now: Date): Promise<void> {
    await this.changing(() => this.expireById(id, now));
  }

  private async expireById(id: string, now: Date): Promise<void> {
    await this.db.transaction(async (trx) => {
      const row = UUID.test(id) ? await trx<SilenceRow>('silences').where({ id }).forUpdate().first() : undefined;
      if (!row) throw new NotFoundError(`silence ${id} not found`);
      const s = fromRow(row);
      if (silenceState(s, now) !== 'expired') await expireRow(trx, s, now);
    });
  }
}

/** Active: ends now. Pending: starts and ends now, so it moves straight to expired. */
async function expireRow(trx: Knex.Transaction, s: Silence, now: Date): Promise<void> {
  const patch = silenceState(s, now) === 'pending' ? { starts_at: now, ends_at: now, updated_at: now } : { ends_at: now, updated_at: now };
  await trx('silences').where({ id: s.id }).update(patch);
}
