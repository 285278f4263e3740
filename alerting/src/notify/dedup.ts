// Alertmanager's DedupStage.needsUpdate: whether this integration must be notified now, given what the
// notification log says it was last told. Returns why, so the ack stage can hold back plain repeats.
import type { NotificationLogEntry } from '../model/stores.js';

export type SendReason = 'first' | 'new-firing' | 'all-resolved' | 'new-resolved' | 'repeat';

export interface DedupInput {
  entry: NotificationLogEntry | undefined;
  firing: ReadonlySet<string>;
  resolved: ReadonlySet<string>;
  sendResolved: boolean;
  repeatIntervalMs: number;
  /** The flush's time (AM takes it from the tick, which quantises repeat_interval to group_interval). */
  now: Date;
}

const subset = (xs: ReadonlySet<string>, of: readonly string[]): boolean => {
  const set = new Set(of);
  for (const x of xs) if (!set.has(x)) return false;
  return true;
};

/** Undefined: nothing to send. */
export function needsUpdate(i: DedupInput): SendReason | undefined {
  const { entry, firing, resolved } = i;
  // Never notified: only when something fires.
  if (!entry) return firing.size > 0 ? 'first' : undefined;
  if (!subset(firing, entry.firing)) return 'new-firing';
  if (firing.size === 0) {
    // All resolved: tell the integration (regardless of send_resolved, so the nflog forgets the firing
    // alerts), unless it was never told they fired.
    return entry.firing.length > 0 ? 'all-resolved' : undefined;
  }
  if (i.sendResolved && !subset(resolved, entry.resolved)) return 'new-resolved';
  return entry.sentAt.getTime() < i.now.getTime() - i.repeatIntervalMs ? 'repeat' : undefined;
}
