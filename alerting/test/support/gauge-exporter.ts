// A tiny Prometheus exporter on loopback whose series the test sets, registered as a scrape target of the
// local Prometheus (scraped every second).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerScrapeTarget, uniqueName } from '@lantern/testkit';

export interface GaugeExporter {
  /** Sets `metric{labels}` to value; `undefined` removes the series from the exposition. */
  set(metric: string, labels: Record<string, string>, value: number | undefined): void;
  close(): Promise<void>;
}

export async function startGaugeExporter(): Promise<GaugeExporter> {
  const series = new Map<string, string>();
  const key = (m: string, l: Record<string, string>) =>
    `${m}{${Object.entries(l)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
  const server: Server = createServer((_req, res) => {
    const lines = [...series.entries()].map(([k, v]) => `${k} ${v}`);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(lines.join('\n') + '\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const unregister = await registerScrapeTarget(uniqueName('rules_exporter'), `127.0.0.1:${port}`);
  return {
    set(metric, labels, value) {
      if (value === undefined) series.delete(key(metric, labels));
      else series.set(key(metric, labels), String(value));
    },
    async close() {
      await unregister();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
