// batch: groups items into larger sends (fewer, bigger export requests) without giving up
// back-pressure: a consume() settles only when its items have been accepted downstream.
import type { ProcessorFactory } from '../../../pipeline/types.js';
import { Batcher } from './batcher.js';
import { configSchema, type BatchConfig } from './config.js';

export { configSchema, type BatchConfig } from './config.js';

// the OpenTelemetry Collector's batch_send_size buckets
const SIZE_BUCKETS = [10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000, 100000];

export const factory: ProcessorFactory<BatchConfig> = {
  kind: 'processor',
  type: 'batch',
  signals: ['traces', 'logs', 'metrics'],
  configSchema,
  create({ id, config, host, signal, pipeline, next }) {
    const labels = { processor: id, pipeline };
    const t = host.telemetry;
    const sendSize = t.histogram('otelcol_processor_batch_batch_send_size', 'Items per batch sent', ['processor', 'pipeline'], SIZE_BUCKETS);
    const sizeTrigger = t.counter('otelcol_processor_batch_batch_size_trigger_send_total', 'Batches sent because send_batch_size was reached', ['processor', 'pipeline']);
    const timeoutTrigger = t.counter('otelcol_processor_batch_timeout_trigger_send_total', 'Batches sent because the timeout expired (or at shutdown)', ['processor', 'pipeline']);
    const batcher = new Batcher({
      signal,
      config,
      next,
      logger: host.logger.child({ processor: id, pipeline }),
      onSend: (trigger, items) => {
        sendSize.observe(labels, items);
        (trigger === 'size' ? sizeTrigger : timeoutTrigger).inc(labels);
      },
    });
    return {
      consume: (data) => batcher.consume(data),
      shutdown: () => batcher.shutdown(),
    };
  },
};

