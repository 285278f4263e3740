import type { Registry } from 'prom-client';
import { defaultRegistry, getOrCreateCounter } from './registry.js';

/** Value given to every label of a label set folded by a {@link CardinalityGuard}. */
export const OVERFLOW_LABEL_VALUE = '__overflow__';
/** Distinct label sets a guarded metric may have before new ones are folded. */
export const DEFAULT_LABEL_SET_LIMIT = 1000;
export const CARDINALITY_OVERFLOW_METRIC = 'lantern_metric_cardinality_overflow_total';

export type LabelValues<L extends string> = Record<L, string>;

/**
 * Caps the number of distinct label sets one metric may create. A label set seen before is returned
 * as is (the same object every time, so the hot path allocates nothing); once `limit` sets exist,
 * any new one is replaced by the overflow set (every label "__overflow__") and
 * `lantern_metric_cardinality_overflow_total{metric}` counts it. One runaway label (a raw path, an
 * id) then costs one extra series instead of taking Prometheus down.
 */
export class CardinalityGuard<L extends string> {
  private readonly known = new Map<string, LabelValues<L>>();
  private readonly overflowLabels: LabelValues<L>;
  private readonly overflowCounterLabels: { metric: string };
  private warned = false;

  constructor(
    readonly metric: string,
    readonly labelNames: readonly L[],
    readonly limit: number = DEFAULT_LABEL_SET_LIMIT,
    private readonly registry: Registry = defaultRegistry(),
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`label set limit for ${metric} must be a positive integer, got ${limit}`);
    this.overflowLabels = Object.fromEntries(labelNames.map((n) => [n, OVERFLOW_LABEL_VALUE])) as LabelValues<L>;
    this.overflowCounterLabels = { metric };
  }

  /** Distinct label sets admitted so far. */
  get size(): number {
    return this.known.size;
  }

  /**
   * Hot path: `key` must identify the label set uniquely (e.g. the values joined by a separator that
   * cannot occur in them); `make` runs only the first time a key is seen.
   */
  resolveKey(key: string, make: () => LabelValues<L>): LabelValues<L> {
    const found = this.known.get(key);
    if (found !== undefined) return found;
    if (this.known.size >= this.limit) return this.overflow();
    const labels = make();
    this.known.set(key, labels);
    return labels;
  }

  /** Convenience form of {@link resolveKey} for code that is not on a hot path. */
  resolve(values: LabelValues<L>): LabelValues<L> {
    let key = '';
    for (const name of this.labelNames) key += `${values[name]}\u0000`;
    return this.resolveKey(key, () => ({ ...values }));
  }

  private overflow(): LabelValues<L> {
    overflowCounter(this.registry).inc(this.overflowCounterLabels);
    if (!this.warned) {
      this.warned = true;
      // Once per metric and process: loud enough to be noticed, never a log flood.
      process.emitWarning(`metric ${this.metric} reached ${this.limit} label sets; new ones are recorded as "${OVERFLOW_LABEL_VALUE}"`, {
        code: 'LANTERN_METRIC_CARDINALITY',
      });
    }
    return this.overflowLabels;
  }
}

function overflowCounter(registry: Registry) {
  return getOrCreateCounter(
    {
      name: CARDINALITY_OVERFLOW_METRIC,
      help: 'Observations folded into the __overflow__ label set because the metric reached its label set limit',
      labelNames: ['metric'],
    },
    registry,
  );
}

const guards = new WeakMap<Registry, Map<string, CardinalityGuard<string>>>();

/**
 * The guard for `metric` in `registry`, created on first use. Guards are shared per metric so that
 * several middlewares or modules recording into one metric share one budget. `limit` only applies
 * when the guard is created.
 */
export function cardinalityGuard<L extends string>(
  metric: string,
  labelNames: readonly L[],
  limit: number = DEFAULT_LABEL_SET_LIMIT,
  registry: Registry = defaultRegistry(),
): CardinalityGuard<L> {
  let byName = guards.get(registry);
  if (!byName) {
    byName = new Map();
    guards.set(registry, byName);
  }
  const existing = byName.get(metric);
  if (existing) return existing as unknown as CardinalityGuard<L>;
  const guard = new CardinalityGuard<L>(metric, labelNames, limit, registry);
  byName.set(metric, guard as unknown as CardinalityGuard<string>);
  return guard;
}
