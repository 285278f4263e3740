// The alert state machine on synthetic query results and explicit timestamps (no Prometheus, no sleeping):
// Prometheus's exact rules for `for`, resolution, the 15m resolved resend, resend_delay and ValidUntil.
import test from 'ava';
import { AlertingRule } from '../src/rules/alerting-rule.js';
import type { RuleDefinition } from '../src/config/rule-files.js';

const MIN = 60_000;
const def = (over: Partial<RuleDefinition> = {}): RuleDefinition => ({ kind: 'alert', name: 'A', expr: 'x > 1', forMs: 10 * MIN, keepFiringForMs: 0, labels: {}, annotations: {}, ...over });
const rule = (over: Partial<RuleDefinition> = {}) => new AlertingRule(def(over), { externalLabels: {}, externalURL: '' });
const at = (m: number) => new Date(Date.UTC(2026, 0, 1) + m * MIN);
const series = [{ labels: { __name__: 'x', job: 'j' }, value: 2 }];

test('for: 10m at a 1m interval fires on the 11th consecutive true evaluation', (t) => {
  const r = rule();
  for (let i = 0; i < 10; i++) {
    r.eval(series, at(i), 0);
    t.is(r.state(), 'pending', `evaluation ${i + 1}`);
    t.deepEqual(r.alertsToSend(at(i), MIN, MIN), [], 'pending alerts are never sent');
  }
  r.eval(series, at(10), 0);
  t.is(r.state(), 'firing');
  const [sent] = r.alertsToSend(at(10), MIN, MIN);
  t.deepEqual(sent?.firedAt, at(10));
  t.deepEqual(sent?.validUntil, at(14), 'ValidUntil = lastSent + 4 × max(interval, resend_delay)');
  t.deepEqual(sent?.labels, { job: 'j', alertname: 'A' }, '__name__ dropped, alertname added');
});

test('resend_delay: a firing alert is re-sent only once lastSent + resend_delay has passed', (t) => {
  const r = rule({ forMs: 0 });
  r.eval(series, at(0), 0);
  t.is(r.alertsToSend(at(0), 2 * MIN, MIN).length, 1);
  r.eval(series, at(1), 0);
  t.is(r.alertsToSend(at(1), 2 * MIN, MIN).length, 0);
  r.eval(series, at(2), 0);
  t.is(r.alertsToSend(at(2), 2 * MIN, MIN).length, 0, 'exactly resend_delay later is not yet "after"');
  r.eval(series, at(3), 0);
  t.is(r.alertsToSend(at(3), 2 * MIN, MIN).length, 1);
});

test('firing → inactive with ResolvedAt, sent at once, kept and re-sent for 15m, then a new ActiveAt', (t) => {
  const r = rule({ forMs: 0 });
  r.eval(series, at(0), 0);
  r.alertsToSend(at(0), MIN, MIN);
  r.eval([], at(1), 0);
  const [resolved] = r.alertsToSend(at(1), MIN, MIN);
  t.is(resolved?.state, 'inactive');
  t.deepEqual(resolved?.resolvedAt, at(1));
  for (let m = 2; m <= 16; m++) r.eval([], at(m), 0);
  t.is(r.active.size, 1, 'kept through the 15m retention');
  r.eval([], at(17), 0);
  t.is(r.active.size, 0, 'dropped once ResolvedAt is more than 15m ago');
  r.eval(series, at(18), 0);
  t.deepEqual([...r.active.values()][0]?.activeAt, at(18), 'a returning series starts a new pending with a new ActiveAt');
});

test('ALERTS and ALERTS_FOR_STATE are produced only once `for` state is restored', (t) => {
  const r = rule();
  t.deepEqual(r.eval(series, at(0), 0), []);
  r.restored = true;
  const out = r.eval(series, at(1), 0);
  t.deepEqual(out.map((s) => [s.labels.__name__, s.labels.alertstate, s.value]), [
    ['ALERTS', 'pending', 1],
    ['ALERTS_FOR_STATE', undefined, at(0).getTime() / 1000],
  ]);
});

test('keep_firing_for: the timer starts at the first missing evaluation and resets when the series returns', (t) => {
  const r = rule({ forMs: 0, keepFiringForMs: 2 * MIN });
  r.eval(series, at(0), 0);
  r.eval([], at(1), 0);
  t.is(r.state(), 'firing');
  r.eval(series, at(2), 0);
  t.is([...r.active.values()][0]?.keepFiringSince, undefined, 'reset');
  r.eval([], at(3), 0);
  r.eval([], at(4), 0);
  t.is(r.state(), 'firing', '1m after KeepFiringSince');
  r.eval([], at(5), 0);
  t.is(r.state(), 'inactive', '2m after KeepFiringSince: resolved');
  t.deepEqual([...r.active.values()][0]?.resolvedAt, at(5));
});

test('limit: too many alerts drops them all and errors', (t) => {
  const r = rule({ forMs: 0 });
  const two = [{ labels: { a: '1' }, value: 1 }, { labels: { a: '2' }, value: 1 }];
  t.throws(() => r.eval(two, at(0), 1), { message: 'exceeded limit of 1 with 2 alerts' });
  t.is(r.active.size, 0);
});
