// The dispatcher's leader lease: one row per lease name, taken or renewed by a single atomic UPSERT that
// only succeeds when the lease expired or this holder already has it.
import type { Knex } from 'knex';
import type { LeaderLease } from '../model/stores.js';

export class PgLeaderLease implements LeaderLease {
  constructor(
    private readonly db: Knex,
    private readonly name: string,
  ) {}

  async tryAcquire(holder: string, ttlMs: number, now: Date): Promise<boolean> {
    const res = await this.db.raw<{ rows: { holder: string }[] }>(
      `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE leases.expires_at <= ? OR leases.holder = EXCLUDED.holder
       RETURNING holder`,
      [this.name, holder, new Date(now.getTime() + ttlMs), now],
    );
    return res.rows.length === 1;
  }

  async release(holder: string): Promise<void> {
    await this.db('leases').where({ name: this.name, holder }).delete();
  }

  /** Who holds the lease and until when (for the status page and tests). */
  async current(): Promise<{ holder: string; expiresAt: Date } | undefined> {
    const r = await this.db<{ name: string; holder: string; expires_at: Date }>('leases').where({ name: this.name }).first();
    return r ? { holder: r.holder, expiresAt: r.expires_at } : undefined;
  }
}
