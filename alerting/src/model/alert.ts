// The alert as Alertmanager keeps it. Rules (rules/) and the v2 API (api/) both produce PostableAlerts;
// the alert store (store/alerts.ts) merges them into Alerts keyed by fingerprint.
import type { LabelSet } from './labels.js';

/** What POST /api/v2/alerts and the rule evaluator hand in (times optional, as in the v2 API). */
export interface PostableAlert {
  labels: LabelSet;
  annotations?: LabelSet;
  startsAt?: Date;
  endsAt?: Date;
  generatorURL?: string;
}

export interface Alert {
  /** fingerprint(labels), 16 hex chars. */
  fingerprint: string;
  labels: LabelSet;
  annotations: LabelSet;
  startsAt: Date;
  /** When it resolves (resolved once endsAt <= now). Set from resolve_timeout when the sender gave none. */
  endsAt: Date;
  /** true when endsAt came from resolve_timeout, not from the sender. */
  timeout: boolean;
  generatorURL: string;
  updatedAt: Date;
}

export const isResolved = (a: Alert, now: Date): boolean => a.endsAt.getTime() <= now.getTime();

/** State of an alert in the API: suppressed by silences, inhibition or time intervals, or active. */
export interface AlertStatus {
  state: 'unprocessed' | 'active' | 'suppressed';
  silencedBy: string[];
  inhibitedBy: string[];
  mutedBy: string[];
}
