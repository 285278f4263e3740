// What createApi needs from the rest of the engine. The optional parts (rules, dispatcher, messages)
// are narrow views so the API works — and is testable — with just the stores and a config.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Alert, AlertStatus } from '../model/alert.js';
import type { Clock } from '../model/clock.js';
import type { LabelSet } from '../model/labels.js';
import type { Evidence } from '../model/notification.js';
import type { Stores } from '../model/stores.js';
import type { BasicAuthConfig } from './auth.js';
import type { ApiLimits } from './limits.js';

/** The current Alertmanager config as the API needs it; re-read on every request, so a reload shows at once. */
export interface ApiConfigView {
  /** The config file as loaded (YAML). Shown by /api/v2/status after removing Lantern-only keys and secrets. */
  original: string;
  /** Lantern-only keys to drop from `original` (see StatusConfigOptions.lanternOnlyKeys). */
  lanternOnlyKeys?: readonly string[];
  /** Receivers with their labels (receiver `labels`, newer Alertmanager), in config order. */
  receivers: { name: string; labels?: LabelSet }[];
  /** Receivers of the routes these labels reach (route tree with `continue`), for gettableAlert.receivers. */
  receiversFor(labels: LabelSet): string[];
}

/** One aggregation group as the dispatcher holds it. */
export interface AlertGroupView {
  groupKey: string;
  /** group_by label values. */
  labels: LabelSet;
  /** The route's own labels (Alertmanager ≥ 0.29 `routeLabels`); {} when none. */
  routeLabels?: LabelSet;
  receiver: string;
  alerts: Alert[];
  /** Evidence gathered for the last notification, if any. */
  evidence?: Evidence;
}

export interface DispatcherView {
  groups(): Promise<AlertGroupView[]> | AlertGroupView[];
  /** Inhibition and time-interval state of an alert; silences are computed by the API itself. */
  status?(alert: Alert): Promise<Partial<AlertStatus> | undefined> | Partial<AlertStatus> | undefined;
}

/** A rule as Prometheus' /api/v1/rules shows it (the fields the page reads; rules/manager.ts ApiRule has them all and is served whole). */
export interface PromRuleView {
  name: string;
  type: 'alerting' | 'recording';
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
  lastEvaluation?: string;
  evaluationTime?: number;
  query?: string;
  state?: string;
  alerts?: { labels: LabelSet; annotations: LabelSet; state: string; activeAt?: string; value?: string }[];
}
export interface PromRuleGroupView {
  name: string;
  file: string;
  interval?: number;
  lastEvaluation?: string;
  evaluationTime?: number;
  rules: PromRuleView[];
}
export interface RuleManagerView {
  listGroups(): PromRuleGroupView[] | Promise<PromRuleGroupView[]>;
}

/** A message the local Slack-compatible sink received (shown as "recent notifications"). */
export interface SinkMessage {
  at: Date;
  text: string;
  channel?: string;
}

export interface ApiDeps {
  stores: Stores;
  config: () => ApiConfigView;
  /** Re-reads config and rule files; throws ConfigError (answered 400, naming file and key). */
  reload: () => Promise<void>;
  rules?: RuleManagerView;
  dispatcher?: () => DispatcherView | undefined;
  messages?: () => SinkMessage[] | Promise<SinkMessage[]>;
  /** The engine's public URL; links and the same-origin check of the page's forms use it. */
  externalURL: string;
  /** Key of signed ack links (notify/links.ts), also keys the page's CSRF tokens. At least 16 bytes. */
  ackSecret: string;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  /** Called after an acknowledgement is stored: the engine sends the "acknowledged by" notice. */
  onAck?: (groupKey: string, by: string) => Promise<unknown>;
  /** Optional basic auth on everything but /-/healthy and signed ack links. */
  basicAuth?: BasicAuthConfig;
  /** Readiness (default: always ready). */
  ready?: () => boolean;
  limits?: Partial<ApiLimits>;
  /** versionInfo.version in /api/v2/status (default `0.25.0+lantern`: amtool compares major.minor). */
  version?: string;
}
