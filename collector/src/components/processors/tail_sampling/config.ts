// The tail_sampling config, spelled as the contrib tailsamplingprocessor's (config.go) so its configs carry over:
// every policy is `{ name, type, <type>: { … } }`, and `and` / `drop` hold a list of the simple policies.
import { z } from 'zod';
import { duration } from '../../../config/values.js';

const nonEmpty = z.string().min(1);
const count = () => z.number().int().nonnegative();

const latency = z
  .strictObject({
    /** Sample traces at least this long (earliest start to latest end), in milliseconds. */
    threshold_ms: count(),
    /** When set (> 0), sample only traces longer than threshold_ms and at most this long. */
    upper_threshold_ms: count().default(0),
  })
  .refine((c) => c.upper_threshold_ms === 0 || c.upper_threshold_ms > c.threshold_ms, {
    message: 'must be greater than threshold_ms (or 0 for no upper bound)',
    path: ['upper_threshold_ms'],
  });

const statusCode = z.strictObject({ status_codes: z.array(z.enum(['OK', 'ERROR', 'UNSET'])).min(1) });

const probabilistic = z.strictObject({
  /** Percentage of traces kept; contrib treats 100 and above as "all". */
  sampling_percentage: z.number().nonnegative().finite(),
  /** Empty means contrib's default salt, so two collectors with the same percentage keep the same traces. */
  hash_salt: z.string().default(''),
});

const rateLimiting = z.strictObject({ spans_per_second: z.number().int().min(1) });

const stringAttribute = z
  .strictObject({
    key: nonEmpty,
    values: z.array(z.string()).min(1),
    enabled_regex_matching: z.boolean().default(false),
    /** Regex results remembered per attribute value (contrib's LRU size). */
    cache_max_size: count().default(128),
    invert_match: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    if (!c.enabled_regex_matching) return;
    c.values.forEach((v, i) => {
      try {
        new RegExp(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['values', i], message: `not a valid regular expression: ${(err as Error).message}` });
      }
    });
  });

const numericAttribute = z
  .strictObject({
    key: nonEmpty,
    min_value: z.number().finite().optional(),
    max_value: z.number().finite().optional(),
    invert_match: z.boolean().default(false),
  })
  .refine((c) => c.min_value !== undefined || c.max_value !== undefined, { message: 'set min_value, max_value or both', path: ['min_value'] })
  .refine((c) => c.min_value === undefined || c.max_value === undefined || c.min_value <= c.max_value, {
    message: 'must not be greater than max_value',
    path: ['min_value'],
  });

const booleanAttribute = z.strictObject({ key: nonEmpty, value: z.boolean(), invert_match: z.boolean().default(false) });

const spanCount = z
  .strictObject({ min_spans: count(), max_spans: count().default(0) })
  .refine((c) => c.max_spans === 0 || c.max_spans >= c.min_spans, { message: 'must be at least min_spans (or 0 for no upper bound)', path: ['max_spans'] });

const traceState = z.strictObject({ key: nonEmpty, values: z.array(z.string()).min(1) });

/** The policies that look at the trace itself; `and` and `drop` combine these. */
const leafPolicy = z.discriminatedUnion('type', [
  z.strictObject({ name: nonEmpty, type: z.literal('always_sample') }),
  z.strictObject({ name: nonEmpty, type: z.literal('latency'), latency }),
  z.strictObject({ name: nonEmpty, type: z.literal('status_code'), status_code: statusCode }),
  z.strictObject({ name: nonEmpty, type: z.literal('probabilistic'), probabilistic }),
  z.strictObject({ name: nonEmpty, type: z.literal('rate_limiting'), rate_limiting: rateLimiting }),
  z.strictObject({ name: nonEmpty, type: z.literal('string_attribute'), string_attribute: stringAttribute }),
  z.strictObject({ name: nonEmpty, type: z.literal('numeric_attribute'), numeric_attribute: numericAttribute }),
  z.strictObject({ name: nonEmpty, type: z.literal('boolean_attribute'), boolean_attribute: booleanAttribute }),
  z.strictObject({ name: nonEmpty, type: z.literal('span_count'), span_count: spanCount }),
  z.strictObject({ name: nonEmpty, type: z.literal('trace_state'), trace_state: traceState }),
]);

const policy = z.discriminatedUnion('type', [
  ...leafPolicy.options,
  z.strictObject({ name: nonEmpty, type: z.literal('and'), and: z.strictObject({ and_sub_policy: z.array(leafPolicy).min(1) }) }),
  z.strictObject({ name: nonEmpty, type: z.literal('drop'), drop: z.strictObject({ drop_sub_policy: z.array(leafPolicy).min(1) }) }),
]);

const decisionCache = z
  .strictObject({
    // contrib defaults these to 0 (no cache), but it keeps a decided trace's entry in its ring buffer; this processor
    // releases a trace's spans as soon as it is decided, so the caches are what makes a late span follow its trace's
    // decision instead of starting a new one. 100 000 ids (2× num_traces, as contrib's README advises) is ~10 MB each.
    sampled_cache_size: count().default(100_000),
    non_sampled_cache_size: count().default(100_000),
  })
  .prefault({});

export const configSchema = z.strictObject({
  /** Wait from a trace's first span before deciding it. */
  decision_wait: duration()
    .refine((ms) => ms > 0, 'must be greater than 0')
    .default(30_000),
  /** Traces held awaiting a decision; past this the oldest is decided early (counted in sampling_trace_dropped_too_early). */
  num_traces: z.number().int().min(1).default(50_000),
  /**
   * Spans held awaiting a decision, across all traces: the memory bound num_traces alone is not (one trace can have
   * thousands of spans). Past it the oldest trace is decided early. ~0.5–1 KB of heap per decoded span.
   */
  max_spans: z.number().int().min(1).default(500_000),
  /** Accepted so contrib configs load; a JS Map needs no pre-sizing, so it has no effect. */
  expected_new_traces_per_sec: count().default(0),
  /** Stop evaluating a trace at the first policy that samples it (drop policies are always evaluated first). */
  sample_on_first_match: z.boolean().default(false),
  decision_cache: decisionCache,
  policies: z
    .array(policy)
    .min(1)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((p, i) => {
        if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate policy name "${p.name}"` });
        seen.add(p.name);
      });
    }),
});

export type TailSamplingConfig = z.output<typeof configSchema>;
export type PolicyConfig = TailSamplingConfig['policies'][number];
export type LeafPolicyConfig = z.output<typeof leafPolicy>;
