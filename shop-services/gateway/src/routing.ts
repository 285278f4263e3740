import type { UpstreamName } from './upstreams.js';

/** Where a gateway path goes: the upstream and the path it has there. */
export interface ProxyTarget {
  upstream: UpstreamName;
  path: string;
}

interface Mount {
  /** Gateway path prefix, e.g. `/api/orders`; matches the prefix itself and anything below it. */
  prefix: string;
  upstream: UpstreamName;
  /** Upstream path for the rest of the gateway path (starts with `/` or is empty). */
  rewrite(rest: string): string;
}

const under = (base: string) => (rest: string) => `${base}${rest}`;

/** The user service serves auth at /auth/*; the gateway exposes it under /api/users like the rest. */
const AUTH_ACTIONS = /^\/(register|login|refresh|logout)$/;

export const MOUNTS: readonly Mount[] = [
  { prefix: '/api/users', upstream: 'user', rewrite: (rest) => (AUTH_ACTIONS.test(rest) ? `/auth${rest}` : `/users${rest}`) },
  { prefix: '/api/products', upstream: 'product', rewrite: under('/products') },
  { prefix: '/api/categories', upstream: 'product', rewrite: under('/categories') },
  { prefix: '/api/recommendations', upstream: 'recommendation', rewrite: under('/recommendations') },
  { prefix: '/api/orders', upstream: 'order', rewrite: under('/orders') },
  { prefix: '/api/inventory', upstream: 'inventory', rewrite: under('/inventory') },
  { prefix: '/api/payments', upstream: 'payment', rewrite: under('/payments') },
  { prefix: '/api/notifications', upstream: 'notification', rewrite: under('/notifications') },
  { prefix: '/api/flash-sales', upstream: 'flash-sale', rewrite: under('/flash-sales') },
];

export function proxyTarget(path: string): ProxyTarget | undefined {
  for (const m of MOUNTS) {
    if (path === m.prefix || path.startsWith(`${m.prefix}/`)) return { upstream: m.upstream, path: m.rewrite(path.slice(m.prefix.length)) };
  }
  return undefined;
}

/**
 * Routes anyone may call without an access token. Everything else under /api needs one (401).
 * Role checks (admin-only writes) stay with the owning service, which sees the forwarded role.
 */
const PUBLIC_ROUTES: readonly { methods: readonly string[]; path: RegExp }[] = [
  { methods: ['POST'], path: /^\/api\/users\/(register|login|refresh|logout)$/ },
  { methods: ['GET', 'HEAD'], path: /^\/api\/products$/ },
  { methods: ['GET', 'HEAD'], path: /^\/api\/products\/search$/ },
  { methods: ['GET', 'HEAD'], path: /^\/api\/products\/[^/]+$/ },
  { methods: ['GET', 'HEAD'], path: /^\/api\/products\/[^/]+\/(details|reviews)$/ },
  { methods: ['GET', 'HEAD'], path: /^\/api\/categories$/ },
  { methods: ['GET', 'HEAD'], path: /^\/api\/docs$/ },
  // payment providers call back without a user token; the payment service checks their HMAC signature
  { methods: ['POST'], path: /^\/api\/payments\/callbacks\/[^/]+$/ },
  // sale listings are shop windows; buying needs a token
  { methods: ['GET', 'HEAD'], path: /^\/api\/flash-sales$/ },
  { methods: ['GET', 'HEAD'], path: /^\/api\/flash-sales\/[^/]+$/ },
];

export function isPublic(method: string, path: string): boolean {
  return PUBLIC_ROUTES.some((r) => r.methods.includes(method) && r.path.test(path));
}

/**
 * True when a path has a `.` or `..` segment, also percent-encoded: URL resolution would collapse
 * it on the way upstream, so the path the gateway authorised would not be the one served.
 */
export function hasDotSegment(path: string): boolean {
  // WHATWG URL parsing treats `\` like `/` in http URLs
  return path.split(/[/\\]/).some((seg) => {
    const s = seg.toLowerCase().replaceAll('%2e', '.');
    return s === '.' || s === '..';
  });
}

/** A regex for a Koa-style path (`/api/products/:id/details`), for matching the gateway's own routes. */
export function pathPattern(koaPath: string): RegExp {
  const escaped = koaPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9_-]{20,})$/i;
/** Fixed path words of the shop's APIs; any other segment is a parameter. */
const KNOWN_WORDS = new Set([
  'register', 'login', 'refresh', 'logout', 'me', 'password', 'addresses', 'search', 'details', 'reviews',
  'bought-together', 'views', 'experiments', 'assignment', 'conversions', 'stock', 'reservations', 'items',
  'cancel', 'confirm', 'pay', 'refund', 'refunds', 'status', 'read',
  // orders, inventory, payments, notifications, flash sales
  'history', 'ship', 'complete', 'release', 'restock', 'reconcile', 'allocations', 'consume', 'return',
  'callbacks', 'card', 'wallet', 'bank', 'channels', 'simulation', 'reconciliation', 'run', 'read-all',
  'preferences', 'deliveries', 'purchase', 'admin', 'dlq', 'replay',
]);

/**
 * The route template of a proxied path, e.g. `/api/products/:id/details`, for span names and the
 * `route` label of RED metrics. Proxied paths match no router route, so without this every gateway
 * request would be "unmatched". Ids become `:id`; the APIs' fixed words (search, me, details) stay;
 * anything else becomes `:param`, so a client cannot mint new label values.
 */
export function proxyRouteTemplate(path: string): string | undefined {
  const mount = MOUNTS.find((m) => path === m.prefix || path.startsWith(`${m.prefix}/`));
  if (!mount) return undefined;
  const rest = path.slice(mount.prefix.length).split('/').filter(Boolean).slice(0, 6);
  const segments = rest.map((s) => (ID_SEGMENT.test(s) ? ':id' : KNOWN_WORDS.has(s) ? s : ':param'));
  return [mount.prefix, ...segments].join('/');
}
