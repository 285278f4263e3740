// Alertmanager's notification log: the last notification per (group, receiver, integration).
import type { Knex } from 'knex';
import type { NotificationLog, NotificationLogEntry } from '../model/stores.js';

interface NflogRow {
  group_key: string;
  receiver: string;
  integration: string;
  firing: string[];
  resolved: string[];
  sent_at: Date;
}

export class PgNotificationLog implements NotificationLog {
  constructor(private readonly db: Knex) {}

  async get(groupKey: string, receiver: string, integration: string): Promise<NotificationLogEntry | undefined> {
    const r = await this.db<NflogRow>('nflog').where({ group_key: groupKey, receiver, integration }).first();
    if (!r) return undefined;
    return { groupKey: r.group_key, receiver: r.receiver, integration: r.integration, firing: r.firing, resolved: r.resolved, sentAt: r.sent_at };
  }

  async log(e: NotificationLogEntry): Promise<void> {
    await this.db('nflog')
      .insert({
        group_key: e.groupKey,
        receiver: e.receiver,
        integration: e.integration,
        firing: JSON.stringify(e.firing),
        resolved: JSON.stringify(e.resolved),
        sent_at: e.sentAt,
      })
      .onConflict(['group_key', 'receiver', 'integration'])
      .merge();
  }

  /** Drops entries of groups that have been quiet longer than `retentionMs` (AM's nflog retention). */
  async gc(now: Date, retentionMs: number): Promise<number> {
    return this.db('nflog')
      .where('sent_at', '<', new Date(now.getTime() - retentionMs))
      .delete();
  }
}
