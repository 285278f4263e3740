// Instant queries against Prometheus's HTTP API (GET /api/v1/query with `time`), as the rule manager's
// QueryFunc: a vector result is the rule's samples, a scalar becomes one sample without labels (as
// EngineQueryFunc does), anything else is an error naming what came back.
import { request } from 'undici';
import type { LabelSet } from '../model/labels.js';
import { parseGoFloat } from './template/go-value.js';

export interface QuerySample {
  labels: LabelSet;
  value: number;
}

/** A range-vector sample series, used to read ALERTS_FOR_STATE back. */
export interface QuerySeries {
  labels: LabelSet;
  values: { timestampMs: number; value: number }[];
}

export class QueryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'QueryError';
  }
}

interface ApiResponse {
  status: string;
  error?: string;
  errorType?: string;
  data?: { resultType: string; result: unknown };
}

const num = (s: string): number => parseGoFloat(s) ?? NaN;

export class PrometheusQuerier {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {}

  private async call(query: string, at: Date): Promise<{ resultType: string; result: unknown }> {
    const url = new URL('api/v1/query', this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    let res;
    try {
      res = await request(url, {
        method: 'POST',
        body: new URLSearchParams({ query, time: (at.getTime() / 1000).toFixed(3) }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (e) {
      throw new QueryError(`query ${url.origin}: ${(e as Error).message}`, { cause: e });
    }
    const text = await res.body.text();
    let body: ApiResponse;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      throw new QueryError(`query ${url.origin}: HTTP ${res.statusCode}, not a Prometheus API response: ${text.slice(0, 200)}`);
    }
    if (body.status !== 'success' || !body.data) {
      throw new QueryError(`query ${url.origin}: ${body.errorType ?? `HTTP ${res.statusCode}`}: ${body.error ?? 'no data'}`);
    }
    return body.data;
  }

  /** The instant vector (or scalar) `expr` at `at`. */
  async instant(expr: string, at: Date): Promise<QuerySample[]> {
    const data = await this.call(expr, at);
    if (data.resultType === 'vector') {
      return (data.result as { metric: LabelSet; value: [number, string] }[]).map((r) => ({ labels: r.metric, value: num(r.value[1]) }));
    }
    if (data.resultType === 'scalar') {
      const [, v] = data.result as [number, string];
      return [{ labels: {}, value: num(v) }];
    }
    throw new QueryError(`rule result is not a vector or scalar: got ${data.resultType}`);
  }

  /** A range selector evaluated at `at` (matrix result). */
  async matrix(expr: string, at: Date): Promise<QuerySeries[]> {
    const data = await this.call(expr, at);
    if (data.resultType !== 'matrix') throw new QueryError(`expected a matrix, got ${data.resultType}`);
    return (data.result as { metric: LabelSet; values: [number, string][] }[]).map((r) => ({
      labels: r.metric,
      values: r.values.map(([t, v]) => ({ timestampMs: Math.round(t * 1000), value: num(v) })),
    }));
  }
}
