// Helpers for the store exporter's tests: a collector with test_source/<key> → store/<key> for traces and logs.
import type { Collector } from '../../src/collector.js';
import { startTestCollector, type Doc } from './collector.js';

export function storeDoc(key: string, store: Doc = {}): Doc {
  const src = `test_source/${key}`;
  const exp = `store/${key}`;
  const query = (store.query ?? {}) as Doc;
  return {
    receivers: { [src]: {} },
    exporters: { [exp]: { ...store, query: { endpoint: '127.0.0.1:0', ...query } } },
    service: { pipelines: { traces: { receivers: [src], exporters: [exp] }, logs: { receivers: [src], exporters: [exp] } } },
  };
}

export async function startStore(key: string, store: Doc = {}, dataDir?: string): Promise<{ c: Collector; url: string }> {
  const c = await startTestCollector(storeDoc(key, store), dataDir);
  return { c, url: c.endpoint(`store/${key}`, 'query') };
}

export interface Fetched {
  status: number;
  type: string;
  text: string;
  json: unknown;
}

export async function get(url: string, init?: RequestInit): Promise<Fetched> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json };
}
