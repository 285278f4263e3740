import type { Knex } from 'knex';
import type { Runner } from './orders-repo.js';

/** The saga's remote steps, in order: reserve stock → request payment → confirm stock (or release it). */
export type SagaStep = 'reserve' | 'payment' | 'confirm' | 'release' | 'refund';

/**
 * started: asked, no answer yet; unknown: the call failed without an answer (timeout, 5xx), the
 * other side may have acted; pending: the other side is still deciding (a payment); succeeded and
 * failed are answers.
 */
export type StepStatus = 'started' | 'unknown' | 'pending' | 'succeeded' | 'failed';

export interface StepRow {
  order_id: string;
  step: SagaStep;
  status: StepStatus;
  attempts: number;
  detail: string | null;
  updated_at: Date;
}

/** Durable record of each order's saga steps, so a restart (or the re-drive job) knows where it stands. */
export class SagaSteps {
  constructor(private readonly knex: Knex) {}

  /** Records a step as started; false if it was already recorded (someone else runs it). */
  async claim(db: Runner, orderId: string, step: SagaStep): Promise<boolean> {
    const rows = await db('saga_steps').insert({ order_id: orderId, step, status: 'started' }).onConflict(['order_id', 'step']).ignore().returning('step');
    return rows.length > 0;
  }

  /** Takes over a step left in one of `from` (e.g. a payment whose outcome is unknown): one caller wins. */
  async reclaim(orderId: string, step: SagaStep, from: StepStatus[]): Promise<boolean> {
    const n = await this.knex('saga_steps')
      .where({ order_id: orderId, step })
      .whereIn('status', from)
      .update({ status: 'started', attempts: this.knex.raw('attempts + 1'), updated_at: this.knex.fn.now() });
    return n > 0;
  }

  /** Sets a step's outcome, creating the row if the step was never claimed (events may arrive first). */
  async set(db: Runner, orderId: string, step: SagaStep, status: StepStatus, detail?: string): Promise<void> {
    await db('saga_steps')
      .insert({ order_id: orderId, step, status, detail: detail?.slice(0, 500) ?? null })
      .onConflict(['order_id', 'step'])
      .merge({ status, detail: detail?.slice(0, 500) ?? null, updated_at: db.fn.now() });
  }

  /**
   * Sets a step's outcome if the order still exists (a job may outlive a deleted order), in one
   * statement: the foreign key would refuse the row otherwise.
   */
  async setIfOrderExists(db: Runner, orderId: string, step: SagaStep, status: StepStatus, detail?: string): Promise<void> {
    const text = detail?.slice(0, 500) ?? null;
    await db.raw(
      `INSERT INTO saga_steps (order_id, step, status, detail) SELECT id, ?, ?, ? FROM orders WHERE id = ?
       ON CONFLICT (order_id, step) DO UPDATE SET status = EXCLUDED.status, detail = EXCLUDED.detail, updated_at = now()`,
      [step, status, text, orderId],
    );
  }

  /** Sets a step's outcome only while it is in one of `from` (a late "no answer" must not overwrite an answer). */
  async setIf(db: Runner, orderId: string, step: SagaStep, from: StepStatus[], status: StepStatus, detail?: string): Promise<boolean> {
    const n = await db('saga_steps')
      .where({ order_id: orderId, step })
      .whereIn('status', from)
      .update({ status, detail: detail?.slice(0, 500) ?? null, updated_at: db.fn.now() });
    return n > 0;
  }

  async get(orderId: string, step: SagaStep, db: Runner = this.knex): Promise<StepRow | undefined> {
    return (await db('saga_steps').where({ order_id: orderId, step }).first()) as StepRow | undefined;
  }

  async all(orderId: string): Promise<StepRow[]> {
    return (await this.knex('saga_steps').where({ order_id: orderId }).orderBy('created_at')) as StepRow[];
  }
}
