// Escalation (Lantern extension): a route's `escalation: [{after, receiver}]`. While a group with a
// severity=critical alert stays firing and unacknowledged, step n notifies its receiver `after` its first
// notification, once per step (the level reached is persisted with the group). Ack or resolve stops it.
import { isResolved, type Alert } from '../model/alert.js';
import type { EscalationStepView } from '../dispatch/routes.js';

export interface EscalationState {
  firstNotifiedAt?: Date;
  /** Steps already notified. */
  escalationLevel: number;
}

export interface DueStep {
  /** 1-based level (NotificationContext.escalationLevel). */
  level: number;
  step: EscalationStepView;
  dueAt: Date;
}

/** The next step to take and when, or undefined when none is left or the group was never notified. */
export function nextStep(steps: readonly EscalationStepView[], s: EscalationState): DueStep | undefined {
  const step = steps[s.escalationLevel];
  if (!step || !s.firstNotifiedAt) return undefined;
  return { level: s.escalationLevel + 1, step, dueAt: new Date(s.firstNotifiedAt.getTime() + step.afterMs) };
}

/** Escalation applies to groups with a firing severity=critical alert. */
export function escalates(alerts: Iterable<Alert>, now: Date): boolean {
  for (const a of alerts) if (a.labels.severity === 'critical' && !isResolved(a, now)) return true;
  return false;
}
