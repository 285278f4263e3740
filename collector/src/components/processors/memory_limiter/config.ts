// memory_limiter settings, spelled as the OpenTelemetry Collector's memorylimiterprocessor spells them.
import { z } from 'zod';
import { duration } from '../../../config/values.js';
import { ConfigError } from '../../../pipeline/errors.js';
import { computeLimits } from './limits.js';

const mib = () => z.number().int().positive();
const percent = () => z.number().int().min(1).max(100);

export const configSchema = z
  .strictObject({
    /** How often the process RSS is measured; refusal starts and stops only at a check. */
    check_interval: duration().default(1000),
    /** Hard limit in MiB. Exactly one of limit_mib / limit_percentage. */
    limit_mib: mib().optional(),
    /** Hard limit as a percentage of total memory (the cgroup limit when lower than the machine's). */
    limit_percentage: percent().optional(),
    /** Soft limit = hard − this. Default: 20% of the hard limit. */
    spike_limit_mib: mib().optional(),
    /** Soft limit = hard − this percentage of total memory (upstream semantics). Default: 20% of the hard limit. */
    spike_limit_percentage: percent().optional(),
    /** Forced GCs when crossing the soft limit are at least this far apart (a full GC blocks the event loop). */
    min_gc_interval_when_soft_limited: duration().default(10_000),
    /** Forced GCs above the hard limit are at least this far apart (0: at every check above it). */
    min_gc_interval_when_hard_limited: duration().default(0),
  })
  .superRefine((c, ctx) => {
    const exactlyOne = (a: 'limit_mib' | 'spike_limit_mib', b: 'limit_percentage' | 'spike_limit_percentage', required: boolean) => {
      if (c[a] !== undefined && c[b] !== undefined) ctx.addIssue({ code: 'custom', path: [b], message: `set either ${a} or ${b}, not both` });
      else if (required && c[a] === undefined && c[b] === undefined) ctx.addIssue({ code: 'custom', path: [a], message: `one of ${a} or ${b} is required` });
    };
    exactlyOne('limit_mib', 'limit_percentage', true);
    exactlyOne('spike_limit_mib', 'spike_limit_percentage', false);
    if (c.check_interval <= 0) ctx.addIssue({ code: 'custom', path: ['check_interval'], message: 'must be greater than 0' });
    if ((c.limit_mib === undefined) === (c.limit_percentage === undefined) || (c.spike_limit_mib !== undefined && c.spike_limit_percentage !== undefined)) return;
    // the spike must leave a soft limit above zero; percentages need the total memory, known here already
    try {
      computeLimits(c);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      ctx.addIssue({ code: 'custom', path: [err.key], message: err.message.replace(`${err.key}: `, '') });
    }
  });

export type MemoryLimiterConfig = z.output<typeof configSchema>;
