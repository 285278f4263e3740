import { createHash } from 'node:crypto';
import { z } from 'zod';

const experimentId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a lowercase id (a-z, 0-9, . _ -)');
const variantName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a lowercase name (a-z, 0-9, . _ -)');

/**
 * One experiment: variant name → weight in percent. Weights must add up to 100 so that
 * "50" means "half the users"; a 0 weight keeps a variant defined but switched off.
 */
export const experimentSchema = z
  .object({
    id: experimentId,
    variants: z.record(variantName, z.number().min(0).max(100)),
  })
  .superRefine((exp, ctx) => {
    const weights = Object.values(exp.variants);
    if (weights.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'needs at least one variant' });
      return;
    }
    const total = weights.reduce((a, b) => a + b, 0);
    if (Math.abs(total - 100) > 1e-9) {
      ctx.addIssue({ code: 'custom', path: ['variants'], message: `weights must add up to 100, got ${total}` });
    }
  });

export const experimentsSchema = z.array(experimentSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((exp, i) => {
    if (seen.has(exp.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate experiment id "${exp.id}"` });
    seen.add(exp.id);
  });
});

export type ExperimentConfig = z.infer<typeof experimentSchema>;

/** The experiment that chooses the recommendation algorithm, and its default split. */
export const RECO_ALGO_EXPERIMENT = 'reco-algo';
export const DEFAULT_EXPERIMENTS: ExperimentConfig[] = [{ id: RECO_ALGO_EXPERIMENT, variants: { control: 50, 'cooccurrence-v2': 50 } }];

/**
 * Deterministic bucket in [0, 100) for (experiment, user): the first 32 bits of
 * sha256("experimentId:userId"). Salting with the experiment id keeps assignments independent
 * across experiments (the same user is not always in the "first" variant everywhere).
 */
export function bucketOf(experimentId: string, userId: string): number {
  const digest = createHash('sha256').update(`${experimentId}:${userId}`).digest();
  return (digest.readUInt32BE(0) / 0x1_0000_0000) * 100;
}

/** Picks the variant whose cumulative weight range contains the user's bucket. */
export function assignVariant(exp: ExperimentConfig, userId: string): string {
  const bucket = bucketOf(exp.id, userId);
  const entries = Object.entries(exp.variants).filter(([, w]) => w > 0);
  let upper = 0;
  for (const [name, weight] of entries) {
    upper += weight;
    if (bucket < upper) return name;
  }
  // Only reachable through floating-point rounding at the very top of the range.
  const last = entries[entries.length - 1];
  if (!last) throw new Error(`experiment "${exp.id}" has no variant with a positive weight`);
  return last[0];
}

export interface Assignment {
  experiment: string;
  variant: string;
}

/**
 * Configured experiments plus their exposure/conversion counters. Metric labels only ever take
 * configured ids and variant names, so the series count is bounded by the config.
 */
export class Experiments {
  private readonly byId: Map<string, ExperimentConfig>;

  constructor(
    experiments: ExperimentConfig[],
    private readonly counters: { exposures: CounterLike; conversions: CounterLike },
  ) {
    this.byId = new Map(experiments.map((e) => [e.id, e]));
  }

  get(id: string): ExperimentConfig | undefined {
    return this.byId.get(id);
  }

  list(): ExperimentConfig[] {
    return [...this.byId.values()];
  }

  /** The user's variant, or undefined for an experiment that is not configured. */
  assign(id: string, userId: string): Assignment | undefined {
    const exp = this.byId.get(id);
    return exp ? { experiment: exp.id, variant: assignVariant(exp, userId) } : undefined;
  }

  /** Call when the user is actually shown the variant. */
  expose(id: string, userId: string): Assignment | undefined {
    const a = this.assign(id, userId);
    if (a) this.counters.exposures.inc({ experiment: a.experiment, variant: a.variant });
    return a;
  }

  convert(id: string, userId: string): Assignment | undefined {
    const a = this.assign(id, userId);
    if (a) this.counters.conversions.inc({ experiment: a.experiment, variant: a.variant });
    return a;
  }
}

export interface CounterLike {
  inc(labels: Record<string, string>): void;
}
