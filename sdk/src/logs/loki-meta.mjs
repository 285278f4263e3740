// pino transport pipeline step (runs in pino's worker thread, so plain JS): moves trace_id/span_id
// into `meta`, which pino-loki 3 sends as Loki structured metadata (not as labels: unbounded values).
import build from 'pino-abstract-transport';
import { pipeline, Transform } from 'node:stream';

export default async function lokiMeta() {
  return build(
    (source) => {
      const out = new Transform({
        objectMode: true,
        autoDestroy: true,
        transform(log, _enc, done) {
          if (log.trace_id !== undefined) {
            log.meta = { ...(log.meta ?? {}), trace_id: log.trace_id, span_id: log.span_id };
            delete log.trace_id;
            delete log.span_id;
            delete log.trace_flags;
          }
          done(null, `${JSON.stringify(log)}\n`);
        },
      });
      pipeline(source, out, () => {});
      return out;
    },
    { enablePipelining: true },
  );
}
