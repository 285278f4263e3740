// batch settings, as the OpenTelemetry Collector's batchprocessor spells them.
import { z } from 'zod';
import { duration } from '../../../config/values.js';

export const configSchema = z
  .strictObject({
    /** Items (spans, log records, metric data points) that trigger a send; a trigger, not a cap. 0: send at once. */
    send_batch_size: z.number().int().nonnegative().default(8192),
    /** A non-empty batch is sent at the latest this long after its first item arrived. 0: send at once. */
    timeout: duration().default(200),
    /** Upper bound on the items in one send; a larger batch is split. 0: no bound. */
    send_batch_max_size: z.number().int().nonnegative().default(0),
  })
  .superRefine((c, ctx) => {
    if (c.send_batch_max_size > 0 && c.send_batch_max_size < c.send_batch_size) {
      ctx.addIssue({ code: 'custom', path: ['send_batch_max_size'], message: `must be 0 or at least send_batch_size (${c.send_batch_size})` });
    }
  });

export type BatchConfig = z.output<typeof configSchema>;
