export interface JsonRequest {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as-is with a JSON content type: for malformed and oversize bodies. */
  rawBody?: string;
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON; the text when the body is not JSON; undefined when empty. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests assert response bodies field by field
}

/** One HTTP request with a JSON body (if any), answered with the status, headers and parsed body. */
export async function fetchJson(url: string, req: JsonRequest = {}): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...req.headers };
  let body: string | undefined;
  if (req.rawBody !== undefined || req.body !== undefined) {
    headers['content-type'] ??= 'application/json'; // a test may send another on purpose
    body = req.rawBody ?? JSON.stringify(req.body);
  }
  const res = await fetch(url, { method: req.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: unknown = text || undefined;
  try {
    if (text) parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
