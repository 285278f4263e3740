// Alertmanager's notification log: the last notification per (group, receiver, integration). Reads and
// writes of one turn of the event loop are batched (store/batch.ts): one SELECT and one UPSERT for every
// group flushing at that moment.
import type { Knex } from 'knex';
import type { NotificationLog, NotificationLogEntry } from '../model/stores.js';
import { batcher } from './batch.js';

interface NflogRow {
  group_key: string;
  receiver: string;
  integration: string;
  firing: string[];
  resolved: string[];
  sent_at: Date;
}

interface EntryKey {
  groupKey: string;
  receiver: string;
  integration: string;
}

/** The primary key as one string (group keys never contain NUL). */
const keyOf = (k: EntryKey): string => `${k.groupKey}\0${k.receiver}\0${k.integration}`;

const fromRow = (r: NflogRow): NotificationLogEntry => ({
  groupKey: r.group_key,
  receiver: r.receiver,
  integration: r.integration,
  firing: r.firing,
  resolved: r.resolved,
  sentAt: r.sent_at,
});

export class PgNotificationLog implements NotificationLog {
  private readonly reads = batcher<EntryKey, NotificationLogEntry | undefined>((keys) => this.getMany(keys));
  private readonly writes = batcher<NotificationLogEntry, void>((entries) => this.logMany(entries));

  constructor(private readonly db: Knex) {}

  get(groupKey: string, receiver: string, integration: string): Promise<NotificationLogEntry | undefined> {
    return this.reads.load({ groupKey, receiver, integration });
  }

  log(e: NotificationLogEntry): Promise<void> {
    return this.writes.load(e);
  }

  private async getMany(keys: readonly EntryKey[]): Promise<(NotificationLogEntry | undefined)[]> {
    // three arrays as three parameters: a statement of the same size for any number of keys
    const { rows } = await this.db.raw<{ rows: NflogRow[] }>(
      'SELECT * FROM nflog WHERE (group_key, receiver, integration) IN (SELECT * FROM unnest(?::text[], ?::text[], ?::text[]))',
      [keys.map((k) => k.groupKey), keys.map((k) => k.receiver), keys.map((k) => k.integration)],
    );
    const byKey = new Map(rows.map((r) => [keyOf({ groupKey: r.group_key, receiver: r.receiver, integration: r.integration }), fromRow(r)]));
    return keys.map((k) => byKey.get(keyOf(k)));
  }

  private async logMany(entries: readonly NotificationLogEntry[]): Promise<void[]> {
    // one row per key, the last write winning, as the same upserts run one after another would leave it
    const last = new Map(entries.map((e) => [keyOf(e), e]));
    const rows = [...last.values()].map((e) => ({ group_key: e.groupKey, receiver: e.receiver, integration: e.integration, firing: e.firing, resolved: e.resolved, sent_at: e.sentAt }));
    await this.db.raw(
      `INSERT INTO nflog (group_key, receiver, integration, firing, resolved, sent_at)
       SELECT * FROM json_to_recordset(?::json) AS v(group_key text, receiver text, integration text, firing jsonb, resolved jsonb, sent_at timestamptz)
       ON CONFLICT (group_key, receiver, integration) DO UPDATE SET firing = EXCLUDED.firing, resolved = EXCLUDED.resolved, sent_at = EXCLUDED.sent_at`,
      [JSON.stringify(rows)],
    );
    return entries.map(() => undefined);
  }

  /** Drops entries of groups that have been quiet longer than `retentionMs` (AM's nflog retention). */
  async gc(now: Date, retentionMs: number): Promise<number> {
    return this.db('nflog')
      .where('sent_at', '<', new Date(now.getTime() - retentionMs))
      .delete();
  }
}
