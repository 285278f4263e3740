// Shared by the koa*/metrics* tests: a real tracer, a real Koa server on 127.0.0.1:0, a logger whose lines we read.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { createLogger } from '../src/logs/index.js';

let exporter: InMemorySpanExporter | undefined;

/** Registers a global tracer provider (once per process) that keeps finished spans in memory. */
export function setupTracing(): InMemorySpanExporter {
  if (exporter) return exporter;
  exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  return exporter;
}

export interface Running {
  url: string;
  hostPort: string;
  close(): Promise<void>;
}

export async function listen(app: Koa): Promise<Running> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface LogLine {
  level: string;
  msg?: string;
  [key: string]: unknown;
}

/** A createLogger() logger writing into an array instead of stdout. */
export function captureLogger(level: 'debug' | 'info' = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ service: 'sdk-test', level, destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) } });
  return { logger, lines };
}
