// AlertStore on Postgres: puts are serialised per schema (an advisory transaction lock), merged as AM
// merges, and announced to other replicas with NOTIFY (delivered on commit).
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Alert, PostableAlert } from '../model/alert.js';
import type { AlertStore } from '../model/stores.js';
import { mergeStored, normalise } from './alert-merge.js';
import { listenChannel, noticePayload, type AlertNotice, type ChannelListener } from './notify-channel.js';

interface AlertRow {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  starts_at: Date;
  ends_at: Date;
  timeout: boolean;
  generator_url: string;
  updated_at: Date;
}

const fromRow = (r: AlertRow): Alert => ({
  fingerprint: r.fingerprint,
  labels: r.labels,
  annotations: r.annotations,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  timeout: r.timeout,
  generatorURL: r.generator_url,
  updatedAt: r.updated_at,
});

const toRow = (a: Alert): AlertRow => ({
  fingerprint: a.fingerprint,
  labels: a.labels,
  annotations: a.annotations,
  starts_at: a.startsAt,
  ends_at: a.endsAt,
  timeout: a.timeout,
  generator_url: a.generatorURL,
  updated_at: a.updatedAt,
});

export class PgAlertStore implements AlertStore {
  private readonly listeners = new Set<(alerts: Alert[]) => void>();
  private listener: ChannelListener | undefined;

  constructor(
    private readonly db: Knex,
    private readonly opts: {
      schema: string;
      channel: string;
      origin: string;
      lockKey: string;
      resolveTimeoutMs: number;
      databaseUrl: string;
      logger: Logger;
    },
  ) {}

  /** Starts listening for other replicas' changes. */
  async start(): Promise<void> {
    this.listener = await listenChannel({
      databaseUrl: this.opts.databaseUrl,
      channel: this.opts.channel,
      origin: this.opts.origin,
      logger: this.opts.logger,
      onNotice: (n) => void this.onRemoteNotice(n),
    });
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.listener?.close();
  }

  async put(alerts: PostableAlert[], now: Date): Promise<Alert[]> {
    if (alerts.length === 0) return [];
    const merged = await this.db.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [this.opts.lockKey]);
      const incoming = alerts.map((p) => normalise(p, now, this.opts.resolveTimeoutMs));
      const fps = [...new Set(incoming.map((a) => a.fingerprint))];
      // arrays and one JSON document as parameters: statements of the same size for a batch of any size
      const { rows } = await trx.raw<{ rows: AlertRow[] }>('SELECT * FROM alerts WHERE fingerprint = ANY(?::text[])', [fps]);
      const current = new Map(rows.map((r) => [r.fingerprint, fromRow(r)]));
      for (const a of incoming) current.set(a.fingerprint, mergeStored(current.get(a.fingerprint), a));
      const out = fps.map((fp) => current.get(fp)!);
      await trx.raw(
        `INSERT INTO alerts (fingerprint, labels, annotations, starts_at, ends_at, timeout, generator_url, updated_at)
         SELECT * FROM json_to_recordset(?::json) AS v(fingerprint text, labels jsonb, annotations jsonb, starts_at timestamptz,
           ends_at timestamptz, timeout boolean, generator_url text, updated_at timestamptz)
         ON CONFLICT (fingerprint) DO UPDATE SET labels = EXCLUDED.labels, annotations = EXCLUDED.annotations, starts_at = EXCLUDED.starts_at,
           ends_at = EXCLUDED.ends_at, timeout = EXCLUDED.timeout, generator_url = EXCLUDED.generator_url, updated_at = EXCLUDED.updated_at`,
        [JSON.stringify(out.map(toRow))],
      );
      await trx.raw('SELECT pg_notify(?, ?)', [this.opts.channel, noticePayload(this.opts.origin, fps)]);
      return out;
    });
    this.emit(merged);
    return merged;
  }

  async list(): Promise<Alert[]> {
    const rows = await this.db<AlertRow>('alerts').orderBy('starts_at').orderBy('fingerprint');
    return rows.map(fromRow);
  }

  async get(fp: string): Promise<Alert | undefined> {
    const row = await this.db<AlertRow>('alerts').where({ fingerprint: fp }).first();
    return row ? fromRow(row) : undefined;
  }

  async gc(now: Date, retentionMs: number): Promise<number> {
    return this.db('alerts')
      .where('ends_at', '<', new Date(now.getTime() - retentionMs))
      .delete();
  }

  subscribe(listener: (alerts: Alert[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(alerts: Alert[]): void {
    for (const l of this.listeners) {
      try {
        l(alerts);
      } catch (err) {
        this.opts.logger.error({ err }, 'alert listener failed');
      }
    }
  }

  private async onRemoteNotice(n: AlertNotice): Promise<void> {
    if (this.listeners.size === 0) return;
    try {
      const alerts = n.fingerprints.length === 0 ? await this.list() : (await this.db<AlertRow>('alerts').whereIn('fingerprint', n.fingerprints)).map(fromRow);
      if (alerts.length > 0) this.emit(alerts);
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'could not load alerts announced by another replica');
    }
  }
}
