// Builds the running components from a validated config: one instance per receiver and exporter id
// (shared by the pipelines that list it), one processor chain per pipeline.
import { isDeepStrictEqual } from 'node:util';
import type { LoadedConfig } from '../config/load.js';
import { componentType } from '../config/schema.js';
import { fanOut, SwitchableConsumer } from './fanout.js';
import { lookupFactory } from './registry.js';
import type { Consumer, Exporter, ExporterFactory, Host, Processor, ProcessorFactory, Receiver, ReceiverFactory, Signal } from './types.js';

export interface RunningExporter {
  instance: Exporter;
  config: unknown;
}
export interface RunningReceiver {
  instance: Receiver;
  config: unknown;
  signals: Signal[];
  inputs: { [S in Signal]?: SwitchableConsumer<S> };
}

/** Everything between receivers and exporters for one config: rebuilt on every reload. */
export interface Pipelines {
  /** Per receiver id and signal: the fan-out into every pipeline that lists the receiver. */
  entries: Map<string, { [S in Signal]?: Consumer<S> }>;
  /** Processor instances per pipeline, in data-flow order. */
  processors: Map<string, Processor<Signal>[]>;
}

/** Exporters for `loaded`: an unchanged exporter (same id, same config) is reused, not restarted. */
export async function buildExporters(loaded: LoadedConfig, host: Host, previous: Map<string, RunningExporter>): Promise<Map<string, RunningExporter>> {
  const out = new Map<string, RunningExporter>();
  for (const id of usedIds(loaded, 'exporters')) {
    const config = loaded.components.exporter.get(id);
    const old = previous.get(id);
    if (old && isDeepStrictEqual(old.config, config)) {
      out.set(id, old);
      continue;
    }
    const factory = lookupFactory('exporter', componentType(id)) as ExporterFactory;
    const instance = await factory.create({ id, config, host });
    await instance.start?.();
    out.set(id, { instance, config });
  }
  return out;
}

/** Processor chains, built from the exporters backwards, and each receiver's entry consumer. */
export async function buildPipelines(loaded: LoadedConfig, host: Host, exporters: Map<string, RunningExporter>): Promise<Pipelines> {
  const perReceiver = new Map<string, Map<Signal, Consumer<Signal>[]>>();
  const processors = new Map<string, Processor<Signal>[]>();
  for (const [name, p] of Object.entries(loaded.raw.service.pipelines)) {
    const signal = componentType(name) as Signal;
    let next: Consumer<Signal> = fanOut(p.exporters.map((id) => exporters.get(id)!.instance.consumer(signal)));
    const chain: Processor<Signal>[] = [];
    for (const id of [...p.processors].reverse()) {
      const factory = lookupFactory('processor', componentType(id)) as ProcessorFactory;
      const proc = await factory.create({ id, config: loaded.components.processor.get(id), host, signal, pipeline: name, next });
      await proc.start?.();
      chain.unshift(proc);
      next = proc;
    }
    processors.set(name, chain);
    for (const r of p.receivers) {
      const bySignal = perReceiver.get(r) ?? new Map<Signal, Consumer<Signal>[]>();
      bySignal.set(signal, [...(bySignal.get(signal) ?? []), next]);
      perReceiver.set(r, bySignal);
    }
  }
  const entries = new Map<string, { [S in Signal]?: Consumer<S> }>();
  for (const [r, bySignal] of perReceiver) {
    const e: { [S in Signal]?: Consumer<Signal> } = {};
    for (const [signal, list] of bySignal) e[signal] = fanOut(list);
    entries.set(r, e as { [S in Signal]?: Consumer<S> });
  }
  return { entries, processors };
}

/** Starts a receiver for `id`, fed through switchable inputs so a reload can re-point it without a restart. */
export async function startReceiver(id: string, config: unknown, host: Host, entry: { [S in Signal]?: Consumer<S> }): Promise<RunningReceiver> {
  const inputs: RunningReceiver['inputs'] = {};
  for (const signal of Object.keys(entry) as Signal[]) {
    (inputs as Record<Signal, SwitchableConsumer<Signal>>)[signal] = new SwitchableConsumer(entry[signal] as Consumer<Signal>);
  }
  const factory = lookupFactory('receiver', componentType(id)) as ReceiverFactory;
  const instance = await factory.create({ id, config, host, consumers: inputs });
  await instance.start?.();
  return { instance, config, signals: Object.keys(entry) as Signal[], inputs };
}

/** Shuts processor chains down in data-flow order, so each flushes into a stage that is still running. */
export async function shutdownPipelines(p: Pipelines): Promise<void> {
  for (const chain of p.processors.values()) {
    for (const proc of chain) await proc.shutdown();
  }
}

function usedIds(loaded: LoadedConfig, key: 'receivers' | 'exporters'): string[] {
  const ids = new Set<string>();
  for (const p of Object.values(loaded.raw.service.pipelines)) for (const id of p[key]) ids.add(id);
  return [...ids];
}

export const usedReceivers = (loaded: LoadedConfig) => usedIds(loaded, 'receivers');
