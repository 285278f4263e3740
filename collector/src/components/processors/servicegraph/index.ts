// servicegraph: request count, failures and latency between pairs of services, from client/server
// (and producer/consumer) spans of the same trace, in the servicegraph connector's names, recorded
// into host.derivedMetrics. A pass-through processor: the spans go on to `next` unchanged. It sits
// before tail sampling, so it sees both sides of every call.
import type { DecodedSpan } from '../../../otlp/types.js';
import type { Consumer, Processor, ProcessorCreate, ProcessorFactory, Signal } from '../../../pipeline/types.js';
import { configSchema, type ServiceGraphConfig } from './config.js';
import { ServiceGraph } from './graph.js';

export const factory: ProcessorFactory<ServiceGraphConfig> = {
  kind: 'processor',
  type: 'servicegraph',
  signals: ['traces'],
  configSchema,
  create<S extends Signal>({ config, host, next }: ProcessorCreate<ServiceGraphConfig, S>): Processor<S> {
    // only ever placed in traces pipelines (signals above): S is 'traces'
    const traces = next as unknown as Consumer<'traces'>;
    const graph = new ServiceGraph(host.derivedMetrics, config);
    // one store per instance, swept on a timer that never keeps the process alive
    const timer = setInterval(() => graph.expire(), config.store_expiration_loop);
    timer.unref();
    const proc: Processor<'traces'> = {
      async consume(spans: DecodedSpan[]) {
        await traces.consume(spans);
        // recorded once accepted downstream: a refused batch is retried by the sender and would count twice
        graph.record(spans);
      },
      async shutdown() {
        clearInterval(timer);
        // half edges still waiting can never pair now: they count as unpaired (and virtual nodes), not vanish
        graph.store.expireAll();
      },
    };
    return proc as unknown as Processor<S>;
  },
};
