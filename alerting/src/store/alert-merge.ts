// Alertmanager's rules for turning a posted alert into a stored one (api/v2 postAlertsHandler,
// provider/mem Put, types.Alert.Merge), kept pure so they are testable without a database.
import type { Alert, PostableAlert } from '../model/alert.js';
import { fingerprint } from '../model/labels.js';

/** Go's zero time (0001-01-01), which amtool sends for "not given". */
const GO_ZERO_MS = -62135596800000;
const given = (d: Date | undefined): d is Date => d !== undefined && !Number.isNaN(d.getTime()) && d.getTime() > GO_ZERO_MS;

/** A posted alert as AM stores it: startsAt defaults to now (or endsAt), a missing endsAt is now + resolve_timeout. */
export function normalise(p: PostableAlert, now: Date, resolveTimeoutMs: number): Alert {
  const endsGiven = given(p.endsAt);
  const startsAt = given(p.startsAt) ? p.startsAt : endsGiven ? p.endsAt! : now;
  return {
    fingerprint: fingerprint(p.labels),
    labels: { ...p.labels },
    annotations: { ...(p.annotations ?? {}) },
    startsAt,
    endsAt: endsGiven ? p.endsAt! : new Date(now.getTime() + resolveTimeoutMs),
    timeout: !endsGiven,
    generatorURL: p.generatorURL ?? '',
    updatedAt: now,
  };
}

const before = (a: Date, b: Date): boolean => a.getTime() < b.getTime();
const after = (a: Date, b: Date): boolean => a.getTime() > b.getTime();

/**
 * provider/mem Put: merge only when the activity ranges overlap; otherwise (a resolved alert firing
 * again) the new alert replaces the old one and starts fresh.
 */
export function mergeStored(old: Alert | undefined, incoming: Alert): Alert {
  if (!old) return incoming;
  const overlaps =
    (after(incoming.endsAt, old.startsAt) && before(incoming.endsAt, old.endsAt)) ||
    (after(incoming.startsAt, old.startsAt) && before(incoming.startsAt, old.endsAt));
  return overlaps ? mergeAlerts(old, incoming) : incoming;
}

/** types.Alert.Merge: the younger alert's fields win, the earliest startsAt is kept, and endsAt follows AM's rules. */
export function mergeAlerts(a: Alert, o: Alert): Alert {
  if (before(o.updatedAt, a.updatedAt)) return mergeAlerts(o, a);
  const res: Alert = { ...o };
  if (before(a.startsAt, o.startsAt)) res.startsAt = a.startsAt;
  const resolved = (x: Alert): boolean => x.endsAt.getTime() <= o.updatedAt.getTime();
  if (resolved(o)) {
    // The latest explicit resolve time wins when both are resolved.
    if (resolved(a) && after(a.endsAt, o.endsAt)) res.endsAt = a.endsAt;
  } else if (after(a.endsAt, o.endsAt) && !a.timeout) {
    // A non-timeout end time always rules when it is the latest.
    res.endsAt = a.endsAt;
  }
  return res;
}
