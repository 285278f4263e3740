// The engine's state, persisted in Postgres (store/): a restart neither loses nor repeats a notification,
// and two replicas share it (one dispatches, through the leader lease).
import type { Alert, PostableAlert } from './alert.js';
import type { PostableSilence, Silence } from './silence.js';

export interface AlertStore {
  /** Merges alerts by fingerprint as Alertmanager does (an update extends endsAt; resolve_timeout fills a missing endsAt). */
  put(alerts: PostableAlert[], now: Date): Promise<Alert[]>;
  list(): Promise<Alert[]>;
  get(fingerprint: string): Promise<Alert | undefined>;
  /** Deletes alerts resolved longer ago than `retentionMs`. */
  gc(now: Date, retentionMs: number): Promise<number>;
  /** Called after alerts changed (in this replica or, through Postgres NOTIFY, another). */
  subscribe(listener: (alerts: Alert[]) => void): () => void;
}

export interface SilenceStore {
  /** Creates, or updates when `id` is set (unknown id → NotFoundError). Returns the id. */
  upsert(s: PostableSilence, now: Date): Promise<string>;
  get(id: string): Promise<Silence | undefined>;
  list(): Promise<Silence[]>;
  /** Sets endsAt = now (an unknown id → NotFoundError). */
  expire(id: string, now: Date): Promise<void>;
}

/** Alertmanager's notification log: what was last sent per (group, receiver, integration). */
export interface NotificationLogEntry {
  groupKey: string;
  receiver: string;
  integration: string;
  /** Fingerprints of the firing and resolved alerts of the last notification. */
  firing: string[];
  resolved: string[];
  sentAt: Date;
}
export interface NotificationLog {
  get(groupKey: string, receiver: string, integration: string): Promise<NotificationLogEntry | undefined>;
  log(entry: NotificationLogEntry): Promise<void>;
}

export interface Acknowledgement {
  groupKey: string;
  by: string;
  at: Date;
}
export interface AckStore {
  ack(groupKey: string, by: string, at: Date): Promise<void>;
  get(groupKey: string): Promise<Acknowledgement | undefined>;
  /** An acknowledgement ends when its group resolves. */
  clear(groupKey: string): Promise<void>;
}

export interface LeaderLease {
  /** Takes or renews the lease for `ttlMs`; true while this holder leads. */
  tryAcquire(holder: string, ttlMs: number, now: Date): Promise<boolean>;
  release(holder: string): Promise<void>;
}

export interface Stores {
  alerts: AlertStore;
  silences: SilenceStore;
  nflog: NotificationLog;
  acks: AckStore;
  lease: LeaderLease;
}

/** Where rule evaluation sends its alerts: the local alert store, or a remote Alertmanager's v2 API. */
export interface AlertSink {
  send(alerts: PostableAlert[]): Promise<void>;
}
