import { getOrCreateCounter } from '@lantern/sdk';

export type DegradedPart = 'stock' | 'reviews' | 'recommendations';

/** Responses served without one of their optional parts (one increment per missing part). */
export const degradedResponses = () =>
  getOrCreateCounter({
    name: 'gateway_degraded_responses_total',
    help: 'Gateway responses served without an optional part because its upstream failed, timed out or is not configured',
    labelNames: ['part'] as const,
  });

/** Requests let through without a rate-limit decision because Redis could not answer (fail open). */
export const rateLimitBypassed = () =>
  getOrCreateCounter({
    name: 'gateway_ratelimit_bypassed_total',
    help: 'Requests the gateway let through (fail open) or refused (fail closed) because the rate limiter could not decide',
    labelNames: ['scope', 'mode'] as const,
  });

/** 401s at the edge, by reason: missing / token_expired / token_invalid. */
export const authRejections = () =>
  getOrCreateCounter({
    name: 'gateway_auth_rejections_total',
    help: 'Requests the gateway refused with 401, by reason',
    labelNames: ['reason'] as const,
  });
