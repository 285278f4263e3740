import { getOrCreateCounter } from '@lantern/sdk';

export type ServedLevel = 'personalised' | 'popular' | 'static';

/** Which level of the fallback chain answered a recommendation request. */
export const servedTotal = getOrCreateCounter({
  name: 'recommendation_served_total',
  help: 'Recommendation responses by the fallback level that served them',
  labelNames: ['level'] as const,
});

/** Requests that fell back to the static list because Redis failed. */
export const degradedTotal = getOrCreateCounter({
  name: 'recommendation_degraded_total',
  help: 'Recommendation responses served from the static list because the Redis model was unavailable',
});

/** Users shown a variant. Labels come from configured experiments only, so cardinality is bounded. */
export const exposuresTotal = getOrCreateCounter({
  name: 'experiment_exposures_total',
  help: 'Experiment exposures by experiment and variant',
  labelNames: ['experiment', 'variant'] as const,
});

export const conversionsTotal = getOrCreateCounter({
  name: 'experiment_conversions_total',
  help: 'Experiment conversions by experiment and variant',
  labelNames: ['experiment', 'variant'] as const,
});

/** Order events by outcome: counted, duplicate (already counted), invalid (schema failure). */
export const ordersConsumedTotal = getOrCreateCounter({
  name: 'recommendation_orders_consumed_total',
  help: 'Order events consumed by the recommendation model, by outcome',
  labelNames: ['outcome'] as const,
});
