import type { Agent, Dispatcher } from 'undici';

/** An upstream answer read whole: status, headers and the body's bytes (empty when it sent none). */
export interface RawResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * One request through undici's dispatcher, with the response body collected into a Buffer by a
 * plain handler. undici's request() wraps every response in a Readable stream and a request
 * handler object, which the callers here only ever read to the end; at one upstream call per
 * gateway request that wrapping was a visible share of its CPU. Diagnostics channels (the SDK's
 * client spans and metrics) are published by undici's core either way. `signal` aborting aborts
 * the request with its reason.
 */
export function sendRequest(agent: Agent, url: URL, opts: { method: Dispatcher.HttpMethod; headers: Record<string, string>; body?: string }, signal: AbortSignal): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let statusCode = 0;
    let headers: RawResponse['headers'] = {};
    const chunks: Buffer[] = [];
    const onAbort = () => {
      if (controller) controller.abort(signal.reason as Error);
      else settle(() => reject(signal.reason));
    };
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
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
