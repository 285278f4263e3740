import test from 'ava';
import { waitFor } from '@lantern/testkit';
import type { Alert } from '../src/model/alert.js';
import { fingerprint } from '../src/model/labels.js';
import { freshStores, storesOn } from './support/stores.js';

const t0 = new Date('2030-01-01T00:00:00Z');
const at = (s: number): Date => new Date(t0.getTime() + s * 1000);

test('an alert without endsAt gets now + resolve_timeout and timeout=true; startsAt defaults to now', async (t) => {
  const { stores, schema } = await freshStores('store_alerts_a', { resolveTimeoutMs: 60_000 });
  t.teardown(async () => { await stores.close(); await schema.drop(); });
  const [a] = await stores.alerts.put([{ labels: { alertname: 'A' } }], at(0));
  t.is(a!.fingerprint, fingerprint({ alertname: 'A' }));
  t.deepEqual(a!.startsAt, at(0));
  t.deepEqual(a!.endsAt, at(60));
  t.true(a!.timeout);
  const stored = await stores.alerts.get(a!.fingerprint);
  t.deepEqual(stored, a);
});

test('same fingerprint: earlier startsAt kept, newer endsAt and annotations taken', async (t) => {
  const { stores, schema } = await freshStores('store_alerts_b');
  t.teardown(async () => { await stores.close(); await schema.drop(); });
  const labels = { alertname: 'B', svc: 'cart' };
  await stores.alerts.put([{ labels, annotations: { summary: 'old' }, startsAt: at(0), endsAt: at(100) }], at(1));
  const [m] = await stores.alerts.put([{ labels, annotations: { summary: 'new' }, startsAt: at(50), endsAt: at(200) }], at(60));
  t.deepEqual(m!.startsAt, at(0));
  t.deepEqual(m!.endsAt, at(200));
  t.is(m!.annotations.summary, 'new');
  t.false(m!.timeout);
  // an explicit resolve ends it
  const [r] = await stores.alerts.put([{ labels, startsAt: at(0), endsAt: at(70) }], at(70));
  t.deepEqual(r!.endsAt, at(70));
  t.deepEqual(r!.startsAt, at(0));
});

test('a timeout endsAt does not outlive a later explicit one; an explicit later endsAt is kept over a timeout refresh', async (t) => {
  const { stores, schema } = await freshStores('store_alerts_c', { resolveTimeoutMs: 300_000 });
  t.teardown(async () => { await stores.close(); await schema.drop(); });
  const labels = { alertname: 'C' };
  await stores.alerts.put([{ labels, startsAt: at(0), endsAt: at(1000) }], at(0));
  // a re-post without endsAt (timeout at 310) must not shorten the explicit 1000
  const [m] = await stores.alerts.put([{ labels }], at(10));
  t.deepEqual(m!.endsAt, at(1000));
  t.deepEqual(m!.startsAt, at(0));
});

test('a resolved alert firing again starts fresh', async (t) => {
  const { stores, schema } = await freshStores('store_alerts_d', { resolveTimeoutMs: 10_000 });
  t.teardown(async () => { await stores.close(); await schema.drop(); });
  const labels = { alertname: 'D' };
  await stores.alerts.put([{ labels }], at(0)); // ends at 10
  const [again] = await stores.alerts.put([{ labels }], at(30));
  t.deepEqual(again!.startsAt, at(30));
  t.deepEqual(again!.endsAt, at(40));
});

test('gc deletes alerts resolved longer ago than the retention', async (t) => {
  const { stores, schema } = await freshStores('store_alerts_e');
  t.teardown(async () => { await stores.close(); await schema.drop(); });
  await stores.alerts.put([{ labels: { alertname: 'old' }, startsAt: at(0), endsAt: at(10) }], at(0));
  await stores.alerts.put([{ labels: { alertname: 'new' }, startsAt: at(0), endsAt: at(100) }], at(0));
  t.is(await stores.alerts.gc(at(200), 150_000), 1);
  t.deepEqual((await stores.alerts.list()).map((a) => a.labels.alertname), ['new']);
});

test('subscribers see local puts at once and puts on another replica through NOTIFY', async (t) => {
  const { stores: a, schema } = await freshStores('store_alerts_f');
  const b = await storesOn(schema.name);
  t.teardown(async () => { await a.close(); await b.close(); await schema.drop(); });
  const seenByA: Alert[] = [];
  const seenByB: Alert[] = [];
  a.alerts.subscribe((xs) => seenByA.push(...xs));
  b.alerts.subscribe((xs) => seenByB.push(...xs));
  await a.alerts.put([{ labels: { alertname: 'local' } }], new Date());
  t.deepEqual(seenByA.map((x) => x.labels.alertname), ['local']);
  await waitFor(() => seenByB.some((x) => x.labels.alertname === 'local'), { what: 'replica B to hear of the alert', timeoutMs: 10_000 });
  await b.alerts.put([{ labels: { alertname: 'remote' } }], new Date());
  await waitFor(() => seenByA.some((x) => x.labels.alertname === 'remote'), { what: 'replica A to hear of the alert', timeoutMs: 10_000 });
  // a replica does not hear its own echo
  await new Promise((r) => setTimeout(r, 200));
  t.is(seenByA.filter((x) => x.labels.alertname === 'local').length, 1);
});

test('alerts survive a new Stores on the same schema; migrations are idempotent and concurrent opens are safe', async (t) => {
  const { stores, schema } = await freshStores('store_alerts_g');
  await stores.alerts.put([{ labels: { alertname: 'persist' } }], at(0));
  await stores.close();
  const [x, y] = await Promise.all([storesOn(schema.name), storesOn(schema.name)]);
  t.teardown(async () => { await x.close(); await y.close(); await schema.drop(); });
  t.deepEqual((await x.alerts.list()).map((a) => a.labels.alertname), ['persist']);
});
