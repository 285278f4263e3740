// A customer journey through the gateway, then what Prometheus saw of it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Messages in the demo mailbox addressed to `to` (the mailbox writes one .eml file per message). */
function countMails(dir: string, to: string): number {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.eml') && readFileSync(join(dir, f), 'utf8').includes(to)).length;
  } catch {
    return 0;
  }
}
const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
const prometheus = process.env.PROMETHEUS_URL ?? 'http://127.0.0.1:9090';
// the collector's trace page (or a Jaeger UI): each step prints the link to its trace
const traceUi = process.env.TRACE_UI_URL ?? 'http://127.0.0.1:16686';
const steps: { step: string; traceId: string }[] = [];

async function call(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  headers: Record<string, string> = {},
  quiet = false,
): Promise<{ status: number; traceId: string | null; json: unknown }> {
  const res = await fetch(`${gateway}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : null;
  const traceId = res.headers.get('x-trace-id');
  if (quiet) return { status: res.status, traceId, json };
  console.log(`${method.padEnd(4)} ${path.padEnd(48)} → ${res.status}  ${traceId ? `${traceUi}/trace/${traceId}` : 'no trace'}`);
  if (traceId) steps.push({ step: `${method} ${path}`, traceId });
  return { status: res.status, traceId: res.headers.get('x-trace-id'), json };
}

const email = `demo-${Date.now()}@example.com`;
const password = 'correct horse battery staple';
await call('POST', '/api/users/register', { email, password, name: 'Demo Customer' });
const login = await call('POST', '/api/users/login', { email, password });
const token = (login.json as { accessToken?: string } | null)?.accessToken;
const list = await call('GET', '/api/products?limit=5&sort=rating');
const products = ((list.json as { items?: { id: string; name: string }[] } | null)?.items ?? []);
for (const p of products.slice(0, 3)) {
  await call('GET', `/api/products/${p.id}`);
  await call('GET', `/api/products/${p.id}/details`, undefined, token);
}
await call('GET', '/api/products/search?q=wireless');
if (token) {
  await call('GET', '/api/users/me', undefined, token);
  await call('GET', `/api/recommendations?limit=3${products[0] ? `&productId=${products[0].id}` : ''}`, undefined, token);
}
await call('GET', '/api/products/not-a-uuid');

// Checkout: an order for the first product (prices snapshotted, stock reserved), paid by card; then the
// confirmation email in the demo's mailbox and the in-app notification.
const first = products[0];
if (token && first) {
  await call('GET', `/api/inventory/${first.id}`, undefined, token);
  const placed = await call('POST', '/api/orders', { items: [{ productId: first.id, quantity: 1 }] }, token, { 'idempotency-key': `demo-${Date.now()}` });
  const orderId = (placed.json as { id?: string } | null)?.id;
  if (orderId) {
    const paid = await call('POST', `/api/orders/${orderId}/pay`, { method: 'card' }, token);
    console.log(`     order ${orderId}: ${(paid.json as { status?: string } | null)?.status ?? 'unknown'}`);
    await call('GET', `/api/orders/${orderId}/history`, undefined, token);
    await call('GET', `/api/inventory/${first.id}`, undefined, token);
  }
  // notifications are sent from the order events (outbox → Kafka → notification service): allow a moment
  for (let i = 0; i < 20; i++) {
    const inbox = await call('GET', '/api/notifications?limit=5', undefined, token, {}, i > 0);
    if (((inbox.json as { items?: unknown[] } | null)?.items ?? []).length > 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const mailDir = process.env.MAILBOX_DIR;
  if (mailDir) console.log(`     emails for ${email}: ${countMails(mailDir, email)} in ${mailDir}`);
}
await call('GET', '/api/flash-sales');
await call('GET', '/api/orders', undefined, token);

// Give Prometheus two scrapes, then show the RED view of what just happened.
await new Promise((r) => setTimeout(r, 2500));
const q = 'sum by (service, route, status_code) (http_server_request_duration_seconds_count{job="lantern"})';
const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(q)}`);
const body = (await res.json()) as { data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } };
console.log('\nRequests seen by Prometheus (service, route, status → count):');
for (const r of (body.data?.result ?? []).sort((a, b) => (a.metric.service ?? '').localeCompare(b.metric.service ?? ''))) {
  console.log(`  ${(r.metric.service ?? '').padEnd(15)} ${(r.metric.route ?? '').padEnd(34)} ${r.metric.status_code}  ${r.value[1]}`);
}

// Spans reach the collector with the SDK's next batch export, and it decides on a trace once its spans
// stop arriving (decision_wait, 5 s locally): poll until each step's trace is stored, for up to 20 s.
const deadline = Date.now() + 20_000;
const pending = new Set(steps.map((s) => s.traceId));
while (pending.size > 0 && Date.now() < deadline) {
  for (const id of [...pending]) {
    const res = await fetch(`${traceUi}/api/traces/${id}`).catch(() => undefined);
    if (res?.ok) pending.delete(id);
  }
  if (pending.size > 0) await new Promise((r) => setTimeout(r, 1000));
}
console.log(`\nTraces in the collector: ${steps.length - pending.size} of ${steps.length} journey steps (${traceUi}/)`);
for (const { step, traceId } of steps.filter((s) => pending.has(s.traceId))) console.log(`  not stored yet: ${step} (${traceId})`);
