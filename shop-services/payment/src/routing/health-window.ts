export type CallOutcome = 'success' | 'declined' | 'error';

interface Sample {
  at: number;
  outcome: CallOutcome;
  latencyMs: number;
}

export interface WindowStats {
  calls: number;
  successes: number;
  declines: number;
  errors: number;
  /** Calls the channel answered (success or decline) over all calls; 1 when there were none. */
  availability: number;
  /** Successful charges over all calls; null when there were none. */
  successRate: number | null;
  meanLatencyMs: number | null;
  p95LatencyMs: number | null;
}

/**
 * The recent calls to one channel: at most `maxCalls`, none older than `windowMs`. Small (a few
 * hundred entries), so stats are computed by a scan when asked for.
 */
export class HealthWindow {
  private samples: Sample[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly maxCalls: number,
    private readonly now: () => number = Date.now,
  ) {}

  record(outcome: CallOutcome, latencyMs: number): void {
    this.samples.push({ at: this.now(), outcome, latencyMs });
    if (this.samples.length > this.maxCalls) this.samples.splice(0, this.samples.length - this.maxCalls);
  }

  /** `percentile: false` skips the p95 (a sort): routing asks on every charge and needs only counts and mean. */
  stats(opts: { percentile?: boolean } = {}): WindowStats {
    const cutoff = this.now() - this.windowMs;
    // samples are in time order: drop the expired head
    let firstLive = 0;
    while (firstLive < this.samples.length && this.samples[firstLive]!.at < cutoff) firstLive++;
    if (firstLive > 0) this.samples = this.samples.slice(firstLive);
    const live = this.samples;
    let successes = 0;
    let declines = 0;
    let errors = 0;
    let latencySum = 0;
    for (const s of live) {
      if (s.outcome === 'success') successes++;
      else if (s.outcome === 'declined') declines++;
      else errors++;
      latencySum += s.latencyMs;
    }
    const calls = live.length;
    const sorted = opts.percentile === false ? [] : live.map((s) => s.latencyMs).sort((a, b) => a - b);
    return {
      calls,
      successes,
      declines,
      errors,
      availability: calls === 0 ? 1 : (successes + declines) / calls,
      successRate: calls === 0 ? null : successes / calls,
      meanLatencyMs: calls === 0 ? null : latencySum / calls,
      p95LatencyMs: sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!,
    };
  }
}

/**
 * The routing score of a channel: how reliably it answers, minus a latency penalty. Declines are
 * answers (the customer's bank said no), so they do not count against a channel. The answered ratio
 * is smoothed with one optimistic prior call, so a channel without recent calls scores 1 and gets
 * tried again once its bad calls leave the window.
 */
export function channelScore(stats: WindowStats, latencyPenaltyPerSecond: number): number {
  const answered = stats.successes + stats.declines;
  const smoothed = (answered + 1) / (stats.calls + 1);
  const latencySeconds = (stats.meanLatencyMs ?? 0) / 1000;
  return smoothed - latencyPenaltyPerSecond * latencySeconds;
}
