// The exporter instance: takes metrics from pipelines into the accumulator and serves them, with
// host.derivedMetrics, on GET /metrics in the format the scraper asks for.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DecodedMetric } from '../../../otlp/types.js';
import type { Consumer, Exporter, Host, Signal, SignalData } from '../../../pipeline/types.js';
import { closeServer, listen, serverUrl } from '../../../util/server.js';
import { Accumulator, type DropReason } from './accumulator.js';
import type { PrometheusConfig } from './config.js';
import { CONTENT_TYPE, negotiate, render, type ExpoFamily, type Format, type LabelPairs } from './exposition.js';
import { registryFamilies } from './registry.js';

export class PrometheusExporter implements Exporter {
  private readonly server: Server;
  private readonly accumulator: Accumulator;
  private readonly constLabels: LabelPairs;
  private readonly telemetry;
  private readonly dropped;
  private readonly warnedConflicts = new Set<string>();
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly id: string,
    private readonly config: PrometheusConfig,
    private readonly host: Host,
  ) {
    this.telemetry = host.telemetry.exporter(id);
    this.dropped = host.telemetry.counter('otelcol_exporter_prometheus_dropped_metric_points_total', 'Metric data points the prometheus exporter could not expose', ['exporter', 'reason']);
    this.accumulator = new Accumulator(config, (reason: DropReason, n: number) => this.dropped.inc({ exporter: id, reason }, n));
    this.constLabels = Object.entries(config.const_labels);
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<void> {
    await listen(this.server, this.config.endpoint.host, this.config.endpoint.port);
    // expired series are also dropped at each scrape; the timer frees them when nobody scrapes
    this.sweep = setInterval(() => this.accumulator.expire(), Math.max(1000, Math.min(this.config.metric_expiration, 60_000)));
    this.sweep.unref();
  }

  consumer<S extends Signal>(_signal: S): Consumer<S> {
    return {
      consume: async (data: SignalData[S]) => {
        // only listed in metrics pipelines (signals: ['metrics'])
        const taken = this.accumulator.add(data as DecodedMetric[]);
        this.telemetry.sent('metrics', taken);
      },
    };
  }

  endpoints(): Record<string, string> {
    return this.server.listening ? { '': serverUrl(this.server) } : {};
  }

  async shutdown(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    if (this.server.listening) await closeServer(this.server);
  }

  /** The whole exposition: derived metrics first, then pipeline metrics whose names they do not already use. */
  async scrape(format: Format): Promise<string> {
    const derived = await registryFamilies(this.host.derivedMetrics, this.constLabels);
    const taken = new Set(derived.map((f) => f.name));
    this.accumulator.expire();
    const families: ExpoFamily[] = [...derived];
    for (const f of this.accumulator.snapshot()) {
      if (taken.has(f.name)) {
        this.warnConflict(f.name);
        continue;
      }
      families.push(f);
    }
    return render(families, format);
  }

  private warnConflict(name: string): void {
    if (this.warnedConflicts.has(name)) return;
    this.warnedConflicts.add(name);
    this.host.logger.warn({ exporter: this.id, metric: name }, 'a pipeline metric has the name of a derived metric (spanmetrics/servicegraph): only the derived one is served');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are served on /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end(`method ${req.method ?? ''} not allowed: use GET\n`);
      return;
    }
    const format = negotiate(req.headers.accept, this.config.enable_open_metrics);
    this.scrape(format).then(
      (body) => res.writeHead(200, { 'content-type': CONTENT_TYPE[format] }).end(req.method === 'HEAD' ? undefined : body),
      (err: unknown) => {
        this.host.logger.error({ err, exporter: this.id }, 'rendering /metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics could not be rendered\n');
      },
    );
  }
}
