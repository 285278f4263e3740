// Which rules of a group run side by side (Prometheus's concurrent rule evaluation: buildDependencyMap,
// SplitGroupIntoBatches): a rule waits for the earlier rules whose output it reads; a selector without a
// metric name makes the whole group sequential.
import test from 'ava';
import { buildDependencyMap, evaluationBatches, type RuleRef } from '../src/rules/dependencies.js';

const rec = (name: string, expr: string): RuleRef => ({ kind: 'record', name, expr });
const alert = (name: string, expr: string): RuleRef => ({ kind: 'alert', name, expr });

test('independent rules form one batch', (t) => {
  const rules = [alert('A', 'up{job="a"} == 0'), alert('B', 'rate(http_requests_total[5m]) > 1'), rec('job:x:sum', 'sum by (job) (x)')];
  t.deepEqual([...buildDependencyMap(rules)!], []);
  t.deepEqual(evaluationBatches(rules), [[0, 1, 2]]);
});

test('a chain of recording rules: the base first (with the independent rules), then each link alone, then the readers', (t) => {
  const rules = [
    rec('instance_mode:node_cpu:rate5m', 'sum without(cpu)(rate(node_cpu{job="node"}[5m]))'),
    rec('mode:node_cpu:rate5m', 'sum without(instance)(instance_mode:node_cpu:rate5m{job="node"})'),
    alert('Other', 'up == 0'),
    alert('CpuBusy', 'mode:node_cpu:rate5m{mode="user"} > 0.9'),
    alert('CpuBusyToo', 'instance_mode:node_cpu:rate5m > 0.9 and mode:node_cpu:rate5m > 0'),
  ];
  t.deepEqual(Object.fromEntries(buildDependencyMap(rules)!), { 0: [1, 4], 1: [3, 4] });
  t.deepEqual(evaluationBatches(rules), [[0, 2], [1], [3, 4]]);
});

test('ALERTS and ALERTS_FOR_STATE: a reader depends on the earlier alerting rules its alertname matcher selects', (t) => {
  const rules = [
    alert('Down', 'up == 0'),
    rec('Down', 'vector(1)'), // a recording rule of the same name does not write ALERTS
    alert('Late', 'lag > 10'),
    rec('alerts:down', 'count(ALERTS{alertname="Down", alertstate="firing"})'),
    rec('alerts:any', 'count(ALERTS_FOR_STATE)'),
    rec('alerts:not_late', "count(ALERTS{alertname!='Late'})"),
    rec('alerts:regex', 'count({__name__=~"ALERTS(_FOR_STATE)?", alertname=~"La.*"})'),
  ];
  const deps = buildDependencyMap(rules)!;
  const readersOf = (i: number) => deps.get(i) ?? [];
  t.deepEqual(readersOf(0), [3, 4, 5], 'Down is read by alertname="Down", by every ALERTS_FOR_STATE and by alertname!="Late"');
  t.deepEqual(readersOf(1), [], 'the recording rule named Down is not read by these ALERTS selectors');
  t.deepEqual(readersOf(2), [4, 6]);
});

test('a metric name matched by a regex or written as __name__ (any quoting) is a dependency; a later rule is not', (t) => {
  const rules = [
    rec('job:errors:rate5m', 'sum by (job) (rate(errors_total[5m]))'),
    alert('ReadsLater', 'job:latency:p99 > 1'),
    rec('job:latency:p99', 'histogram_quantile(0.99, sum by (job, le) (rate(latency_bucket[5m])))'),
    alert('ByRegex', '{__name__=~"job:.*:rate5m"} > 1'),
    alert('ByName', "{__name__='job:latency:p99'} > 1"),
    alert('ByRaw', '{__name__=`job:errors:rate5m`} > 2'),
  ];
  t.deepEqual(Object.fromEntries(buildDependencyMap(rules)!), { 0: [3, 5], 2: [4] });
  t.deepEqual(evaluationBatches(rules), [[0, 1, 2], [3, 4, 5]], 'ReadsLater reads the previous evaluation either way');
});

test('a selector without a metric name makes the group sequential; so does one that does not parse', (t) => {
  const wildcard = [rec('a:sum', 'sum(a)'), alert('AnyProd', '{env="prod"} > 1'), alert('B', 'b > 1')];
  t.is(buildDependencyMap(wildcard), undefined);
  t.deepEqual(evaluationBatches(wildcard), [[0], [1], [2]]);
  const broken = [alert('A', 'a > 1'), alert('B', 'rate(')];
  t.deepEqual(evaluationBatches(broken), [[0], [1]]);
  t.deepEqual(evaluationBatches([alert('Alone', '{env="prod"} > 1')]), [[0]], 'a single rule needs no analysis');
});
