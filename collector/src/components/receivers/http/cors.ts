// CORS for receivers that browsers post to (OTLP from a web page). Off unless allowed_origins is set.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CorsSettings {
  allowed_origins: string[];
  allowed_headers: string[];
  /** Seconds a browser may cache a preflight answer. */
  max_age: number;
}

/** `*` alone allows any origin; `*` inside a pattern matches any run of characters (https://*.example.com). */
function originAllowed(origin: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) => {
    if (pattern === '*' || pattern === origin) return true;
    if (!pattern.includes('*')) return false;
    const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return re.test(origin);
  });
}

/**
 * Adds the CORS response headers when the request's Origin is allowed. Returns true when the request
 * was a preflight and has been answered.
 */
export function handleCors(req: IncomingMessage, res: ServerResponse, cors: CorsSettings | undefined, methods: string): boolean {
  const origin = req.headers.origin;
  if (!cors || cors.allowed_origins.length === 0 || !origin || !originAllowed(origin, cors.allowed_origins)) return false;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('vary', 'Origin');
  if (req.method !== 'OPTIONS' || !req.headers['access-control-request-method']) return false;
  const requested = req.headers['access-control-request-headers'];
  const headers = cors.allowed_headers.length > 0 ? [...cors.allowed_headers, 'content-type', 'content-encoding'].join(', ') : (requested ?? 'content-type');
  res.writeHead(204, {
    'access-control-allow-methods': methods,
    'access-control-allow-headers': headers,
    'access-control-max-age': String(cors.max_age),
  });
  res.end();
  return true;
}
