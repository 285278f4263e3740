import type { Agent, Dispatcher } from 'undici';

/** An upstream answer read whole: status, headers and the body's bytes (empty when it sent none). */
export interface RawResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface SendOptions {
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body?: string;
  /** Deadline for the whole exchange, ms. */
  timeoutMs: number;
  /** Called when the deadline passes: returns the error the request is aborted and rejected with. */
  onTimeout(): Error;
}

const EMPTY = Buffer.alloc(0);

/**
 * One request through undici's dispatcher, with the response body collected into a Buffer by a
 * plain handler, and its deadline enforced by aborting the dispatch. undici's request() wraps every
 * response in a Readable stream and a request handler object (which the callers here only ever read
 * to the end), and a deadline through an AbortSignal costs a controller, an event listener and a
 * promise wrapper per call: at one upstream call per gateway request both were a visible share of its
 * CPU. Diagnostics channels (the SDK's client spans and metrics) are published by undici's core
 * either way.
 */
export function sendRequest(agent: Agent, url: URL, opts: SendOptions): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let statusCode = 0;
    let headers: RawResponse['headers'] = {};
    const chunks: Buffer[] = [];
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    // runs in the caller's async context: the timeout's span event lands on the caller's span
    const timer = setTimeout(() => {
      const err = opts.onTimeout();
      settle(() => reject(err));
      controller?.abort(err);
    }, opts.timeoutMs);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (settled) c.abort(new Error('request deadline passed'));
      },
      onResponseStart(_c, status, responseHeaders) {
        statusCode = status;
        headers = responseHeaders;
      },
      onResponseData(_c, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        settle(() => resolve({ statusCode, headers, body: chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
      },
      onResponseError(_c, err) {
        settle(() => reject(err));
      },
    };
    try {
      agent.dispatch({ origin: url.origin, path: url.pathname + url.search, method: opts.method, headers: opts.headers, body: opts.body ?? null }, handler);
    } catch (err) {
      settle(() => reject(err));
    }
  });
}
