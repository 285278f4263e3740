// tail_sampling: keeps or drops whole traces once all their spans are in, by policies (contrib tailsamplingprocessor).
import type { Consumer, Processor, ProcessorCreate, ProcessorFactory, Signal } from '../../../pipeline/types.js';
import { configSchema, type TailSamplingConfig } from './config.js';
import { TailSamplingProcessor } from './processor.js';

export const factory: ProcessorFactory<TailSamplingConfig> = {
  kind: 'processor',
  type: 'tail_sampling',
  // a decision needs whole traces: spans only (config validation keeps it out of logs and metrics pipelines)
  signals: ['traces'],
  configSchema,
  create<S extends Signal>({ id, config, host, pipeline, next }: ProcessorCreate<TailSamplingConfig, S>): Processor<S> {
    // S is 'traces' here (signals above); TypeScript cannot narrow a generic from a runtime check
    const p: Processor<'traces'> = new TailSamplingProcessor(config, next as Consumer<Signal> as Consumer<'traces'>, host, id, pipeline);
    return p as Processor<Signal> as Processor<S>;
  },
};
