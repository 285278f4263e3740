// Inhibition: Alertmanager's inhibit_test.go (TestInhibitRuleHasEqual, TestInhibitRuleMatches) with rules loaded from
// YAML, plus the "missing label = empty" equal rule and the source-must-be-firing rule.
import test from 'ava';
import { fingerprint, Inhibitor, parseAlertmanagerConfig, type Alert, type LabelSet } from '../src/index.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const MIN = 60_000;

function alert(labels: LabelSet, endsInMs = 60 * MIN): Alert {
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: {},
    startsAt: new Date(NOW.getTime() - MIN),
    endsAt: new Date(NOW.getTime() + endsInMs),
    timeout: false,
    generatorURL: '',
    updatedAt: NOW,
  };
}

const inhibitor = (rules: string): Inhibitor =>
  new Inhibitor(parseAlertmanagerConfig(`route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules:\n${rules}`).inhibitRules);

// TestInhibitRuleHasEqual: the source side matches everything; only `equal` and firing decide. (The Go test calls
// hasEqual directly; here the target carries t="1", which no source has, so the two-sided exclusion stays out.)
const hasEqual: Array<[string, Alert[], string[], LabelSet, boolean]> = [
  ['no sources', [], [], { a: 'b' }, false],
  ['resolved sources do not count', [alert({ a: 'b', b: 'f' }, -1000), alert({ a: 'b', b: 'c' }, -1000)], ['a', 'b'], { a: 'b', b: 'c' }, false],
  ['one firing source with equal a', [alert({ a: 'b', c: 'd' }, -1000), alert({ a: 'b', c: 'f' })], ['a'], { a: 'b' }, true],
  ['equal label differs', [alert({ a: 'c', c: 'd' }, -1000), alert({ a: 'c', c: 'f' }, -1000)], ['a'], { a: 'b' }, false],
];
for (const [name, sources, equal, target, want] of hasEqual) {
  test(`hasEqual: ${name}`, (t) => {
    const ih = inhibitor(`  - target_matchers: [t="1"]\n    equal: [${equal.join(', ')}]`);
    ih.setAlerts(sources, NOW);
    t.is(ih.mutes({ ...target, t: '1' }), want);
  });
}

test('rule matching (TestInhibitRuleMatches), including the two-sided exclusion', (t) => {
  const ih = inhibitor(`  - {source_match: {s1: '1'}, target_match: {t1: '1'}, equal: [e]}
  - {source_match: {s2: '1'}, target_match: {t2: '1'}, equal: [e]}`);
  const source1 = alert({ s1: '1', t1: '2', e: '1' });
  const source2 = alert({ s2: '1', t2: '1', e: '1' });
  ih.setAlerts([source1, source2], NOW);
  const cases: Array<[LabelSet, string[]]> = [
    [{ t1: '1', e: '1' }, [source1.fingerprint]],
    [{ t2: '1', e: '1' }, [source2.fingerprint]],
    [{ t1: '1', t3: '1', e: '1' }, [source1.fingerprint]],
    [{ t1: '1', t2: '1', e: '1' }, [source1.fingerprint, source2.fingerprint].sort()],
    [{ t1: '0', e: '1' }, []],
    // matches both sides of rule1; source1 matches only the source side: inhibited
    [{ s1: '1', t1: '1', e: '1' }, [source1.fingerprint]],
    // matches both sides of rule2, and so does source2: not inhibited
    [{ s2: '1', t2: '1', e: '1' }, []],
    [{ t1: '1', e: '0' }, []],
  ];
  for (const [target, want] of cases) t.deepEqual(ih.inhibitedBy(target), want, JSON.stringify(target));
});

test('an alert matching both sides never inhibits itself', (t) => {
  const ih = inhibitor(`  - source_matchers: [severity=critical]\n    target_matchers: ['severity=~"critical|warning"']\n    equal: [service]`);
  const crit = alert({ alertname: 'Down', severity: 'critical', service: 'api' });
  ih.setAlerts([crit], NOW);
  t.deepEqual(ih.inhibitedBy(crit.labels), []);
  t.deepEqual(ih.inhibitedBy({ alertname: 'Slow', severity: 'warning', service: 'api' }), [crit.fingerprint]);
});

test('equal: a label missing on both sides counts as equal (empty)', (t) => {
  const ih = inhibitor(`  - source_matchers: [alertname=NodeDown]\n    target_matchers: [severity=warning]\n    equal: [instance, cluster]`);
  const src = alert({ alertname: 'NodeDown', instance: 'n1' });
  ih.setAlerts([src], NOW);
  t.deepEqual(ih.inhibitedBy({ severity: 'warning', instance: 'n1' }), [src.fingerprint], 'cluster missing on both');
  t.deepEqual(ih.inhibitedBy({ severity: 'warning', instance: 'n1', cluster: 'eu' }), [], 'cluster only on the target');
  t.deepEqual(ih.inhibitedBy({ severity: 'warning', instance: 'n2' }), []);
});

test('the source must be firing at the time asked (evaluate)', (t) => {
  const ih = inhibitor(`  - source_matchers: [alertname=NodeDown]\n    target_matchers: [severity=warning]`);
  const src = alert({ alertname: 'NodeDown' }, 5 * MIN);
  const target = { severity: 'warning', alertname: 'Disk' };
  t.deepEqual(ih.evaluate(target, [src], NOW), [src.fingerprint]);
  t.deepEqual(ih.evaluate(target, [src], new Date(NOW.getTime() + 5 * MIN)), [], 'resolved at endsAt');
  t.deepEqual(ih.evaluate({ severity: 'critical' }, [src], NOW), [], 'not a target');
});
