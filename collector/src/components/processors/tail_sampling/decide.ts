// Combines every policy's vote into the trace's decision, as contrib's makeDecision: a drop wins, then an inverted
// "not sampled", then any "sampled", then an inverted "sampled" when nothing voted "not sampled"; else not sampled.
import type { PolicyConfig } from './config.js';
import { buildEvaluator, Decision, DECISION_COUNT, type Evaluator, type TraceData } from './policies.js';

interface Policy {
  readonly name: string;
  readonly evaluator: Evaluator;
}

/** Votes per policy and decision since the last read, turned into metrics once per tick rather than per trace. */
export class DecisionStats {
  /** votes[policyIndex * DECISION_COUNT + decision] */
  readonly votes: number[];
  evaluationErrors = 0;

  constructor(readonly policyNames: readonly string[]) {
    this.votes = new Array<number>(policyNames.length * DECISION_COUNT).fill(0);
  }

  reset(): void {
    this.votes.fill(0);
    this.evaluationErrors = 0;
  }
}

export class PolicySet {
  private readonly policies: Policy[];
  readonly stats: DecisionStats;

  constructor(
    configs: readonly PolicyConfig[],
    private readonly sampleOnFirstMatch: boolean,
    private readonly onError: (policy: string, err: unknown) => void,
  ) {
    // drop policies first: a drop ends the evaluation, so the others (and a rate limiter's tokens) are not spent on it
    const ordered = [...configs.filter((c) => c.type === 'drop'), ...configs.filter((c) => c.type !== 'drop')];
    this.policies = ordered.map((c) => ({ name: c.name, evaluator: buildEvaluator(c) }));
    this.stats = new DecisionStats(this.policies.map((p) => p.name));
  }

  /** Evaluates every policy once and returns whether the trace is kept. */
  decide(trace: TraceData, nowMs: number): boolean {
    let seen = 0;
    for (let i = 0; i < this.policies.length; i++) {
      const p = this.policies[i]!;
      let d: Decision;
      try {
        d = p.evaluator.evaluate(trace, nowMs);
      } catch (err) {
        // a failing policy abstains (contrib's Error decision) instead of failing the whole trace
        this.stats.evaluationErrors++;
        this.onError(p.name, err);
        continue;
      }
      this.stats.votes[i * DECISION_COUNT + d]!++;
      seen |= 1 << d;
      if (d === Decision.Dropped) break;
      if (this.sampleOnFirstMatch && d === Decision.Sampled) break;
    }
    return finalDecision(seen);
  }
}

const has = (seen: number, d: Decision) => (seen & (1 << d)) !== 0;

function finalDecision(seen: number): boolean {
  if (has(seen, Decision.Dropped) || has(seen, Decision.InvertNotSampled)) return false;
  if (has(seen, Decision.Sampled)) return true;
  return has(seen, Decision.InvertSampled) && !has(seen, Decision.NotSampled);
}
