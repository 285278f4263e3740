// The pipeline's suppression stages, in Alertmanager's order: inhibition (needs a firing source),
// time intervals of the route (mute_time_intervals / active_time_intervals), then silences.
// The rules themselves live in inhibit.ts, time-intervals.ts and silence-match.ts; these stages apply them.
import type { AlertmanagerConfig } from '../config/alertmanager.js';
import { isResolved, type Alert } from '../model/alert.js';
import type { LabelSet } from '../model/labels.js';
import type { Silence } from '../model/silence.js';
import { Inhibitor } from './inhibit.js';
import { silencedBy } from './silence-match.js';
import { TimeIntervals } from './time-intervals.js';

export interface Suppression {
  /** Fingerprints of firing alerts that inhibit `target` (an alert never inhibits itself). */
  inhibitedBy(target: Alert, firing: readonly Alert[], now: Date): string[];
  /** Names of the route's time intervals that mute it at `now` (a mute interval in force, or no active interval in force). */
  mutedBy(route: RouteTiming, now: Date): string[];
  /** Ids of the silences in force at `now` that match `labels`. */
  silencedBy(labels: LabelSet, silences: readonly Silence[], now: Date): string[];
  /** False when there are no inhibit rules: the inhibition stage then needs no sources (the pipeline skips loading every alert). */
  inhibits?(): boolean;
}

export interface RouteTiming {
  muteTimeIntervals: readonly string[];
  activeTimeIntervals: readonly string[];
}

export interface StageResult {
  kept: Alert[];
  /** fingerprint → ids of what suppressed it. */
  suppressed: Map<string, string[]>;
}

/** AM InhibitStage: the sources are every firing alert in the store, not just this group's. */
export function inhibitStage(alerts: readonly Alert[], all: readonly Alert[], s: Suppression, now: Date): StageResult {
  const firing = all.filter((a) => !isResolved(a, now));
  return partition(alerts, (a) => s.inhibitedBy(a, firing, now));
}

/** AM TimeMuteStage/TimeActiveStage: the whole flush is muted, or nothing is. */
export function timeIntervalStage(alerts: readonly Alert[], route: RouteTiming, s: Suppression, now: Date): StageResult {
  const by = s.mutedBy(route, now);
  if (by.length === 0) return { kept: [...alerts], suppressed: new Map() };
  return { kept: [], suppressed: new Map(alerts.map((a) => [a.fingerprint, by])) };
}

/** AM MuteStage with the silencer: applied at each flush, so a new or expired silence counts from the next tick. */
export function silenceStage(alerts: readonly Alert[], silences: readonly Silence[], s: Suppression, now: Date): StageResult {
  return partition(alerts, (a) => s.silencedBy(a.labels, silences, now));
}

function partition(alerts: readonly Alert[], why: (a: Alert) => string[]): StageResult {
  const kept: Alert[] = [];
  const suppressed = new Map<string, string[]>();
  for (const a of alerts) {
    const by = why(a);
    if (by.length > 0) suppressed.set(a.fingerprint, by);
    else kept.push(a);
  }
  return { kept, suppressed };
}

/** The suppression rules of a loaded config: its inhibit rules, its named time intervals, and silence matching. */
export function suppressionFromConfig(config: Pick<AlertmanagerConfig, 'inhibitRules' | 'timeIntervals'>): Suppression {
  const inhibitor = new Inhibitor(config.inhibitRules);
  const intervals = new TimeIntervals(config.timeIntervals);
  return {
    inhibitedBy: (target, firing, now) => inhibitor.evaluate(target.labels, firing, now),
    mutedBy: (route, now) => intervals.mutedBy(route, now),
    silencedBy: (labels, silences, now) => silencedBy(labels, silences, now),
    inhibits: () => config.inhibitRules.length > 0,
  };
}
