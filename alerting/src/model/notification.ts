// What the notify pipeline hands each integration (Slack, email, webhook): one group's alerts, the
// links on-call needs, and the evidence gathered for it.
import type { Alert } from './alert.js';
import type { LabelSet } from './labels.js';

export interface TraceEvidence {
  traceId: string;
  /** Where the trace can be opened: Jaeger's UI or the collector's /trace/{id} page. */
  url: string;
  /** The metric series the exemplar came from, e.g. its service and route labels. */
  series: LabelSet;
  /** The exemplar's value (a latency in seconds, for a latency alert). */
  value: number;
  timestamp: Date;
}

export interface LogEvidence {
  time: Date;
  service: string;
  level: string;
  message: string;
  traceId?: string;
}

export interface Evidence {
  traces: TraceEvidence[];
  logs: LogEvidence[];
  /** Why some evidence is missing (Prometheus or the log source unreachable), shown instead of silence. */
  notes: string[];
}

export interface NotificationContext {
  receiver: string;
  /** Stable id of the aggregation group (route and group_by label values); threads email and Slack. */
  groupKey: string;
  groupLabels: LabelSet;
  commonLabels: LabelSet;
  commonAnnotations: LabelSet;
  status: 'firing' | 'resolved';
  /** The group's alerts after inhibition and silences, firing first. */
  alerts: Alert[];
  /** The engine's public URL (links in messages point here). */
  externalURL: string;
  links: {
    /** The engine's page for this group. */
    group: string;
    /** A pre-filled silence form for the group's labels. */
    silence: string;
    /** Signed acknowledgement link; absent on resolved notifications. */
    ack?: string;
  };
  evidence: Evidence;
  /** 0 for the route's own receiver; n for the n-th escalation step. */
  escalationLevel: number;
  /** Set when the group was acknowledged (the ack notice itself). */
  acknowledgedBy?: string;
}

/** A retryable failure (5xx, 429, network): the retry stage backs off, honouring retryAfterMs. */
export class RetryableNotifyError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RetryableNotifyError';
  }
}

/** One configured integration of a receiver, e.g. the second slack_config of receiver "oncall". */
export interface Integration {
  /** `<type>[<index>]`, as Alertmanager names integrations in its nflog and metrics. */
  name: string;
  type: 'slack' | 'email' | 'webhook';
  sendResolved: boolean;
  /** Throws RetryableNotifyError to be retried; any other error is permanent (counted, logged). */
  notify(ctx: NotificationContext, signal: AbortSignal): Promise<void>;
}
