// DedupStage.needsUpdate, case by case (AM notify/notify.go), without a database.
import test from 'ava';
import { needsUpdate, type DedupInput } from '../src/notify/dedup.js';

const now = new Date('2030-01-01T01:00:00Z');
const entry = (firing: string[], resolved: string[], minutesAgo: number) => ({ groupKey: 'g', receiver: 'r', integration: 'i', firing, resolved, sentAt: new Date(now.getTime() - minutesAgo * 60_000) });
const input = (o: Partial<DedupInput>): DedupInput => ({ entry: undefined, firing: new Set(), resolved: new Set(), sendResolved: true, repeatIntervalMs: 3600_000, now, ...o });

test('first notification only with a firing alert', (t) => {
  t.is(needsUpdate(input({ firing: new Set(['a']) })), 'first');
  t.is(needsUpdate(input({ resolved: new Set(['a']) })), undefined);
});

test('a new firing alert sends; the same firing set waits for repeat_interval', (t) => {
  t.is(needsUpdate(input({ entry: entry(['a'], [], 1), firing: new Set(['a', 'b']) })), 'new-firing');
  t.is(needsUpdate(input({ entry: entry(['a', 'b'], [], 1), firing: new Set(['a']) })), undefined);
  t.is(needsUpdate(input({ entry: entry(['a'], [], 61), firing: new Set(['a']) })), 'repeat');
  t.is(needsUpdate(input({ entry: entry(['a'], [], 60), firing: new Set(['a']) })), undefined, 'exactly repeat_interval ago is not yet older');
});

test('all resolved sends regardless of send_resolved, unless the integration never heard of them firing', (t) => {
  t.is(needsUpdate(input({ entry: entry(['a'], [], 1), resolved: new Set(['a']), sendResolved: false })), 'all-resolved');
  t.is(needsUpdate(input({ entry: entry([], ['x'], 1), resolved: new Set(['a']) })), undefined);
});

test('a new resolved alert sends only with send_resolved', (t) => {
  const e = entry(['a', 'b'], [], 1);
  t.is(needsUpdate(input({ entry: e, firing: new Set(['a']), resolved: new Set(['b']), sendResolved: true })), 'new-resolved');
  t.is(needsUpdate(input({ entry: e, firing: new Set(['a']), resolved: new Set(['b']), sendResolved: false })), undefined);
});
