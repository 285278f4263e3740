// Instant queries against Prometheus's HTTP API (POST /api/v1/query with `time`), as the rule manager's
// QueryFunc: a vector result is the rule's samples, a scalar becomes one sample without labels (as
// EngineQueryFunc does), anything else is an error naming what came back. Queries share a pool of
// keep-alive connections whose size bounds how many run at once (Prometheus bounds its concurrent rule
// evaluations with a semaphore, --rules.max-concurrent-rule-evals).
import { Agent } from 'undici';
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
  private readonly url: { origin: string; pathname: string };
  private agent: Agent | undefined;

  /** `connections`: queries in flight at most (more wait for a free connection). */
  constructor(
    baseUrl: string,
    private readonly timeoutMs = 30_000,
    private readonly connections = 16,
  ) {
    const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.url = { origin: url.origin, pathname: url.pathname };
  }

  /** Closes the pooled connections; a later query opens new ones. */
  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = undefined;
    await agent?.close();
  }

  private async call(query: string, at: Date): Promise<{ resultType: string; result: unknown }> {
    const url = this.url;
    let res;
    try {
      res = await (this.agent ??= new Agent({ connections: this.connections, keepAliveTimeout: 30_000 })).request({
        origin: url.origin,
        path: url.pathname,
        method: 'POST',
        body: `query=${encodeURIComponent(query)}&time=${(at.getTime() / 1000).toFixed(3)}`,
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
