export { startTracing, type TracingHandle } from './provider.js';
export { createSampler } from './sampler.js';
