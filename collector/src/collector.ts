// The collector process: loads the config, starts pipelines, reloads on SIGHUP, shuts down in
// data-flow order (receivers stop taking data, processors flush, exporters drain or persist).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { readConfigFile, validateConfig, type LoadedConfig } from './config/load.js';
import { buildExporters, buildPipelines, shutdownPipelines, startReceiver, usedReceivers, type Pipelines, type RunningExporter, type RunningReceiver } from './pipeline/graph.js';
import { lookupFactory } from './pipeline/registry.js';
import type { Consumer, Host, Signal } from './pipeline/types.js';
import { SelfTelemetry } from './telemetry/self.js';
import { RefusedError } from './pipeline/errors.js';
import { listen, closeServer } from './util/server.js';

export interface CollectorOptions {
  /** A YAML file (re-read on reload), or an already-parsed document (tests). */
  config: string | Record<string, unknown>;
  logger?: Logger;
}

export class Collector {
  readonly host: Host;
  private loaded!: LoadedConfig;
  private exporters = new Map<string, RunningExporter>();
  private receivers = new Map<string, RunningReceiver>();
  private pipelines: Pipelines = { entries: new Map(), processors: new Map() };
  private telemetryServer: Server | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(
    private readonly options: CollectorOptions,
    loaded: LoadedConfig,
    logger: Logger,
  ) {
    this.loaded = loaded;
    this.host = { telemetry: new SelfTelemetry(), derivedMetrics: new Registry(), logger, dataDir: loaded.raw.service.data_dir };
  }

  /** Validates the config (ConfigError naming the key), then starts exporters, pipelines and receivers. */
  static async start(options: CollectorOptions): Promise<Collector> {
    const loaded = await load(options.config);
    const logger = options.logger ?? pino({ name: 'lantern-collector', level: loaded.raw.service.telemetry.logs.level });
    const c = new Collector(options, loaded, logger);
    await mkdir(loaded.raw.service.data_dir, { recursive: true });
    await c.startTelemetryServer();
    c.exporters = await buildExporters(loaded, c.host, new Map());
    c.pipelines = await buildPipelines(loaded, c.host, c.exporters);
    for (const id of usedReceivers(loaded)) {
      c.receivers.set(id, await startReceiver(id, loaded.components.receiver.get(id), c.host, c.pipelines.entries.get(id)!));
    }
    logger.info({ pipelines: Object.keys(loaded.raw.service.pipelines), endpoints: c.endpoints() }, 'collector started');
    return c;
  }

  /**
   * Re-reads the config. An invalid config is logged and the running one kept. Receivers are held (their
   * requests wait) while the old processors flush into the exporters, then re-pointed at the new pipelines:
   * no data in flight is lost. Unchanged receivers and exporters keep running.
   */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.doReload());
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    if (this.stopped) return;
    const next = await load(this.options.config);
    const oldPipelines = this.pipelines;
    const oldExporters = this.exporters;
    for (const r of this.receivers.values()) for (const input of Object.values(r.inputs)) input.hold();
    try {
      await shutdownPipelines(oldPipelines);
      // changed or removed exporters drain (or persist) before their replacement opens the same queue
      const keep = new Set<string>();
      for (const [id, e] of oldExporters) {
        if (isDeepStrictEqual(next.components.exporter.get(id), e.config)) keep.add(id);
        else await e.instance.shutdown();
      }
      this.exporters = await buildExporters(next, this.host, new Map([...oldExporters].filter(([id]) => keep.has(id))));
      this.pipelines = await buildPipelines(next, this.host, this.exporters);
    } finally {
      this.loaded = next;
    }
    const restart: string[] = [];
    for (const [id, r] of this.receivers) {
      const entry = this.pipelines.entries.get(id);
      const sameSignals = entry && isDeepStrictEqual(Object.keys(entry).sort(), [...r.signals].sort());
      if (entry && sameSignals && isDeepStrictEqual(next.components.receiver.get(id), r.config)) {
        for (const [signal, input] of Object.entries(r.inputs)) input.release(entry[signal as Signal] as Consumer<Signal>);
      } else {
        restart.push(id);
        // held requests of a receiver being replaced go to the new pipelines, or are refused if it is removed
        for (const [signal, input] of Object.entries(r.inputs)) input.release(entry?.[signal as Signal] as Consumer<Signal> | undefined ?? refuseAll);
      }
    }
    for (const id of restart) {
      await this.receivers.get(id)!.instance.shutdown();
      this.receivers.delete(id);
    }
    for (const id of usedReceivers(next)) {
      if (!this.receivers.has(id)) this.receivers.set(id, await startReceiver(id, next.components.receiver.get(id), this.host, this.pipelines.entries.get(id)!));
    }
    this.host.logger.info({ pipelines: Object.keys(next.raw.service.pipelines) }, 'collector config reloaded');
  }

  /** Stops taking data, flushes every processor, then lets every exporter drain or persist its queue. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.reloading.catch(() => undefined);
    for (const r of this.receivers.values()) await r.instance.shutdown();
    await shutdownPipelines(this.pipelines);
    for (const e of this.exporters.values()) await e.instance.shutdown();
    if (this.telemetryServer) await closeServer(this.telemetryServer);
  }

  /** Listening URLs of every component that serves one (`otlp.http`, `store.query`, `telemetry`, …). */
  endpoints(): Record<string, string> {
    const out: Record<string, string> = {};
    const add = (id: string, c: object) => {
      const fn = (c as { endpoints?: () => Record<string, string> }).endpoints;
      if (typeof fn === 'function') for (const [k, v] of Object.entries(fn.call(c))) out[k === '' ? id : `${id}.${k}`] = v;
    };
    for (const [id, r] of this.receivers) add(id, r.instance);
    for (const [id, e] of this.exporters) add(id, e.instance);
    const addr = this.telemetryServer?.address() as AddressInfo | null | undefined;
    if (addr) out.telemetry = `http://${addr.address}:${addr.port}`;
    return out;
  }

  /** The URL one component listens on, e.g. endpoint('otlp') or endpoint('store', 'query'). */
  endpoint(id: string, name = ''): string {
    const url = this.endpoints()[name ? `${id}.${name}` : id];
    if (!url) throw new Error(`no endpoint ${name ? `${id}.${name}` : id}`);
    return url;
  }

  private async startTelemetryServer(): Promise<void> {
    const { host, port } = this.loaded.raw.service.telemetry.metrics.address;
    const registry = this.host.telemetry.registry;
    this.telemetryServer = createServer((req, res) => {
      const path = req.url?.split('?')[0];
      if (req.method !== 'GET') res.writeHead(405, { allow: 'GET' }).end();
      else if (path === '/metrics') {
        registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
          () => res.writeHead(500).end('metrics unavailable'),
        );
      } else if (path === '/healthz' || path === '/readyz') res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics');
    });
    await listen(this.telemetryServer, host, port);
  }
}

const refuseAll: Consumer<Signal> = {
  consume: async () => {
    throw new RefusedError('the receiver is being reconfigured');
  },
};

async function load(config: CollectorOptions['config']): Promise<LoadedConfig> {
  const doc = typeof config === 'string' ? await readConfigFile(config) : config;
  return validateConfig(doc, lookupFactory);
}
