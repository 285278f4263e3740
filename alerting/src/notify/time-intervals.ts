// Named time intervals (time_intervals / mute_time_intervals) evaluated as Alertmanager's timeinterval.go does:
// every field given must match (times end-exclusive, ranges inclusive), any listed interval of a name is enough,
// and the wall clock is read in the interval's `location` (UTC when absent).
import type { Range, TimeIntervalSpec } from '../config/alertmanager.js';

interface WallClock {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  /** 0 = Sunday, as Go's time.Weekday. */
  weekday: number;
  minuteOfDay: number;
}

const WEEKDAY_INDEX: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(t: Date, location: string | undefined): WallClock {
  const zone = location === undefined || location === 'UTC' ? 'UTC' : location === 'Local' ? undefined : location;
  const cacheKey = zone ?? 'Local';
  let f = formatters.get(cacheKey);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(cacheKey, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(t)) p[part.type] = part.value;
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    weekday: WEEKDAY_INDEX[p.weekday!]!,
    minuteOfDay: Number(p.hour) * 60 + Number(p.minute),
  };
}

const inRanges = (v: number, ranges: readonly Range[]): boolean => ranges.some((r) => v >= r.begin && v <= r.end);

/** Days in the wall clock's month (a calendar fact, so DST cannot shift it). */
const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

const clamp = (n: number, min: number, max: number): number => (n <= min ? min : n >= max ? max : n);

/** timeinterval.TimeInterval.ContainsTime. */
export function containsTime(spec: TimeIntervalSpec, t: Date): boolean {
  const c = wallClock(t, spec.location);
  if (spec.times && !spec.times.some((r) => c.minuteOfDay >= r.startMinute && c.minuteOfDay < r.endMinute)) return false;
  if (spec.daysOfMonth) {
    const dim = daysInMonth(c.year, c.month);
    const ok = spec.daysOfMonth.some((r) => {
      // Negative days count from the month's end: -1 is the last day.
      let begin = r.begin < 0 ? dim + r.begin + 1 : r.begin;
      let end = r.end < 0 ? dim + r.end + 1 : r.end;
      if (begin > dim) return false;
      begin = clamp(begin, -dim, dim);
      end = clamp(end, -dim, dim);
      return c.day >= begin && c.day <= end;
    });
    if (!ok) return false;
  }
  if (spec.months && !inRanges(c.month, spec.months)) return false;
  if (spec.weekdays && !inRanges(c.weekday, spec.weekdays)) return false;
  if (spec.years && !inRanges(c.year, spec.years)) return false;
  return true;
}

export class UnknownTimeIntervalError extends Error {
  constructor(readonly intervalName: string) {
    super(`time interval ${intervalName} doesn't exist in config`);
    this.name = 'UnknownTimeIntervalError';
  }
}

/** Alertmanager's Intervener over the config's named intervals. */
export class TimeIntervals {
  constructor(private readonly intervals: Readonly<Record<string, readonly TimeIntervalSpec[]>>) {}

  /** The names among `names` in force at `now`. Throws UnknownTimeIntervalError for a name not in the config. */
  activeNames(names: readonly string[], now: Date): string[] {
    const out: string[] = [];
    for (const name of names) {
      const specs = this.intervals[name];
      if (!specs) throw new UnknownTimeIntervalError(name);
      if (specs.some((s) => containsTime(s, now))) out.push(name);
    }
    return out;
  }

  /** True when any of the named intervals is in force at `now`. */
  isActive(names: readonly string[], now: Date): boolean {
    return this.activeNames(names, now).length > 0;
  }

  /**
   * The route's mutedBy at `now`, as TimeMuteStage then TimeActiveStage decide it: the mute intervals in force,
   * else — when the route lists active intervals and none is in force — all its active intervals. [] = not muted.
   */
  mutedBy(route: { muteTimeIntervals: readonly string[]; activeTimeIntervals: readonly string[] }, now: Date): string[] {
    const muting = this.activeNames(route.muteTimeIntervals, now);
    if (muting.length > 0) return muting;
    if (route.activeTimeIntervals.length > 0 && !this.isActive(route.activeTimeIntervals, now)) return [...route.activeTimeIntervals];
    return [];
  }
}
