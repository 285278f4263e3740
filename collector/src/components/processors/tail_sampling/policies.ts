// Policy evaluators, one per contrib policy type (internal/sampling/*.go). Each looks at a whole buffered trace
// once, when it is decided, and answers one Decision; decide.ts combines the answers.
import type { DecodedSpan, OtlpValue, ResourceInfo, StatusCodeName } from '../../../otlp/types.js';
import type { LeafPolicyConfig, PolicyConfig } from './config.js';
import { probabilisticSampler } from './probabilistic.js';

/** A policy's vote. The Invert* votes come from invert_match and rank as in contrib (see decide.ts). */
export const Decision = { NotSampled: 0, Sampled: 1, InvertNotSampled: 2, InvertSampled: 3, Dropped: 4 } as const;
export type Decision = (typeof Decision)[keyof typeof Decision];
export const DECISION_COUNT = 5;

export interface TraceData {
  readonly traceId: string;
  readonly spans: readonly DecodedSpan[];
}

export interface Evaluator {
  /** `nowMs` is a monotonic clock (performance.now), for the rate limiter. */
  evaluate(trace: TraceData, nowMs: number): Decision;
}

const verdict = (sampled: boolean): Decision => (sampled ? Decision.Sampled : Decision.NotSampled);
const invertVerdict = (matched: boolean): Decision => (matched ? Decision.InvertNotSampled : Decision.InvertSampled);

export function buildEvaluator(p: PolicyConfig): Evaluator {
  switch (p.type) {
    case 'and':
      return combine(p.and.and_sub_policy.map(buildLeaf), Decision.Sampled);
    case 'drop':
      return combine(p.drop.drop_sub_policy.map(buildLeaf), Decision.Dropped);
    default:
      return buildLeaf(p);
  }
}

/** `and` and `drop`: `onAll` when every sub-policy samples, NotSampled as soon as one does not. */
function combine(subs: Evaluator[], onAll: Decision): Evaluator {
  return {
    evaluate(trace, now) {
      for (const sub of subs) {
        const d = sub.evaluate(trace, now);
        if (d === Decision.NotSampled || d === Decision.InvertNotSampled) return Decision.NotSampled;
      }
      return onAll;
    },
  };
}

function buildLeaf(p: LeafPolicyConfig): Evaluator {
  switch (p.type) {
    case 'always_sample':
      return { evaluate: () => Decision.Sampled };
    case 'latency':
      return latencyPolicy(p.latency.threshold_ms, p.latency.upper_threshold_ms);
    case 'status_code':
      return statusCodePolicy(p.status_code.status_codes);
    case 'probabilistic': {
      const sampled = probabilisticSampler(p.probabilistic.sampling_percentage, p.probabilistic.hash_salt);
      return { evaluate: (t) => verdict(sampled(t.traceId)) };
    }
    case 'rate_limiting':
      return rateLimitingPolicy(p.rate_limiting.spans_per_second);
    case 'string_attribute':
      return attributePolicy(p.string_attribute.key, stringMatcher(p.string_attribute), p.string_attribute.invert_match);
    case 'numeric_attribute': {
      const { key, min_value: min = -Infinity, max_value: max = Infinity, invert_match } = p.numeric_attribute;
      return attributePolicy(key, (v) => inRange(v, min, max), invert_match);
    }
    case 'boolean_attribute': {
      const { key, value, invert_match } = p.boolean_attribute;
      return attributePolicy(key, (v) => v === value, invert_match);
    }
    case 'span_count': {
      const { min_spans: min, max_spans: max } = p.span_count;
      return { evaluate: (t) => verdict(t.spans.length >= min && (max === 0 || t.spans.length <= max)) };
    }
    case 'trace_state':
      return traceStatePolicy(p.trace_state.key, p.trace_state.values);
  }
}

/** Nanosecond decimal strings compare by length, then lexically: no BigInt per span. */
const nsBefore = (a: string, b: string) => (a.length !== b.length ? a.length < b.length : a < b);

/** Earliest start to latest end, whatever happened in between; whole milliseconds, truncated as Go's Milliseconds(). */
export function traceDurationMs(spans: readonly DecodedSpan[]): number {
  let min: string | undefined;
  let max: string | undefined;
  for (const s of spans) {
    if (s.startTimeUnixNano !== '0' && (min === undefined || nsBefore(s.startTimeUnixNano, min))) min = s.startTimeUnixNano;
    if (s.endTimeUnixNano !== '0' && (max === undefined || nsBefore(max, s.endTimeUnixNano))) max = s.endTimeUnixNano;
  }
  if (min === undefined || max === undefined) return 0;
  return Number((BigInt(max) - BigInt(min)) / 1_000_000n);
}

function latencyPolicy(threshold: number, upper: number): Evaluator {
  return {
    evaluate(t) {
      const ms = traceDurationMs(t.spans);
      return verdict(upper === 0 ? ms >= threshold : threshold < ms && ms <= upper);
    },
  };
}

function statusCodePolicy(codes: readonly ('OK' | 'ERROR' | 'UNSET')[]): Evaluator {
  const wanted = new Set<StatusCodeName>(codes.map((c) => c.toLowerCase() as StatusCodeName));
  return {
    evaluate(t) {
      for (const s of t.spans) if (wanted.has(s.status.code)) return Decision.Sampled;
      return Decision.NotSampled;
    },
  };
}

/**
 * A token bucket of spans_per_second tokens a second holding at most 2× that (contrib's golang.org/x/time/rate
 * limiter, which starts full): a trace is kept when the bucket holds its span count.
 */
function rateLimitingPolicy(perSecond: number): Evaluator {
  const burst = perSecond * 2;
  let tokens = burst;
  let last: number | undefined;
  return {
    evaluate(t, now) {
      if (last !== undefined) tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond);
      last = now;
      if (tokens < t.spans.length) return Decision.NotSampled;
      tokens -= t.spans.length;
      return Decision.Sampled;
    },
  };
}

/** Does the key match on any span or on the resource of any span (each resource object checked once in a row)? */
function anyAttribute(spans: readonly DecodedSpan[], key: string, match: (v: OtlpValue) => boolean): boolean {
  let lastResource: ResourceInfo | undefined;
  for (const s of spans) {
    if (s.resource !== lastResource) {
      lastResource = s.resource;
      const rv = s.resource.attributes[key];
      if (rv !== undefined && match(rv)) return true;
    }
    const v = s.attributes[key];
    if (v !== undefined && match(v)) return true;
  }
  return false;
}

/** invert_match: contrib's InvertNotSampled when the key matches anywhere, InvertSampled otherwise (incl. key absent). */
function attributePolicy(key: string, match: (v: OtlpValue) => boolean, invert: boolean): Evaluator {
  return {
    evaluate(t) {
      const matched = anyAttribute(t.spans, key, match);
      return invert ? invertVerdict(matched) : verdict(matched);
    },
  };
}

function stringMatcher(c: { values: string[]; enabled_regex_matching: boolean; cache_max_size: number }): (v: OtlpValue) => boolean {
  if (!c.enabled_regex_matching) {
    // contrib ignores "" in the exact list, and never matches an empty value
    const exact = new Set(c.values.filter((v) => v !== ''));
    return (v) => typeof v === 'string' && exact.has(v);
  }
  // unanchored, as Go's regexp.MatchString (write ^…$ to match the whole value)
  const patterns = c.values.map((v) => new RegExp(v));
  const cache = new Map<string, boolean>();
  const limit = c.cache_max_size;
  return (v) => {
    if (typeof v !== 'string' || v === '') return false;
    const known = cache.get(v);
    if (known !== undefined) return known;
    const hit = patterns.some((r) => r.test(v));
    // a bounded memo: cleared when full, which costs less per lookup than keeping LRU order
    if (cache.size >= limit) cache.clear();
    if (limit > 0) cache.set(v, hit);
    return hit;
  };
}

/** Integers and doubles; int64 values beyond 2^53 arrive as decimal strings. */
function inRange(v: OtlpValue, min: number, max: number): boolean {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = Number(v);
  else return false;
  return n >= min && n <= max;
}

function traceStatePolicy(key: string, values: readonly string[]): Evaluator {
  const wanted = new Set(values.map((v) => `${key}=${v}`));
  return {
    evaluate(t) {
      for (const s of t.spans) {
        if (!s.traceState) continue;
        for (const member of s.traceState.split(',')) if (wanted.has(member.trim())) return Decision.Sampled;
      }
      return Decision.NotSampled;
    },
  };
}
