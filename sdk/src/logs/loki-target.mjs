// pino transport target (runs in pino's worker thread, hence plain JS) wrapping pino-loki 3.
// It moves trace_id/span_id into `meta`, which pino-loki sends as Loki structured metadata
// (never as labels: unbounded values would create a stream per trace), and makes closing the
// transport wait for pino-loki's final push, so shutdown does not lose the last batch.
import { once } from 'node:events';
import build from 'pino-abstract-transport';
import { pinoLoki } from 'pino-loki';

export default async function lokiTarget(options) {
  const loki = pinoLoki(options);
  return build(
    async (source) => {
      for await (const log of source) {
        if (log.trace_id !== undefined) {
          log.meta = { ...(log.meta ?? {}), trace_id: log.trace_id, span_id: log.span_id };
          delete log.trace_id;
          delete log.span_id;
          delete log.trace_flags;
        }
        if (!loki.write(`${JSON.stringify(log)}\n`)) await once(loki, 'drain');
      }
    },
    {
      async close() {
        const closed = once(loki, 'close');
        loki.end();
        await closed;
      },
    },
  );
}
