// Routing: Alertmanager's dispatch/route_test.go (TestRouteMatch, TestRouteMatchers, TestRouteWalk,
// TestInheritParentGroupByAll, TestRouteID) against our tree, plus group keys and Lantern's escalation inheritance.
import test from 'ava';
import { buildRouteTree, parseAlertmanagerConfig, routesFor, type Route } from '../src/index.js';

/** A route subtree as in route_test.go, wrapped into a whole config (receivers declared, root receiver set). */
function tree(routeYaml: string): Route {
  const names = new Set([...routeYaml.matchAll(/receiver: '?([\w-]+)'?/g)].map((m) => m[1]!));
  names.add('default');
  const body = routeYaml.trim().split('\n').map((l) => `  ${l}`).join('\n');
  const root = /^receiver:/m.test(routeYaml) ? '' : '  receiver: default\n';
  return buildRouteTree(
    parseAlertmanagerConfig(`route:\n${root}${body}\nreceivers:\n${[...names].map((n) => `  - name: ${n}`).join('\n')}\n`),
  );
}

const LEGACY = `
receiver: 'notify-def'
routes:
- match:
    owner: 'team-A'
  receiver: 'notify-A'
  routes:
  - match:
      env: 'testing'
    receiver: 'notify-testing'
    group_by: [...]
  - match:
      env: "production"
    receiver: 'notify-productionA'
    group_wait: 1m
    continue: true
  - match_re:
      env: "produ.*"
      job: ".*"
    receiver: 'notify-productionB'
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 1h
    group_by: ['job']
- match_re:
    owner: 'team-(B|C)'
  group_by: ['foo', 'bar']
  group_wait: 2m
  receiver: 'notify-BC'
- match:
    group_by: 'role'
  group_by: ['role']
  routes:
  - match:
      env: 'testing'
    receiver: 'notify-testing'
    routes:
    - match:
        wait: 'long'
      group_wait: 2m
`;

const MATCHERS = `
receiver: 'notify-def'
routes:
- matchers: ['{owner="team-A"}', '{level!="critical"}']
  receiver: 'notify-A'
  routes:
  - matchers: ['{env="testing"}', '{baz!~".*quux"}']
    receiver: 'notify-testing'
    group_by: [...]
  - matchers: ['{env="production"}']
    receiver: 'notify-productionA'
    group_wait: 1m
    continue: true
  - matchers: [ env=~"produ.*", job=~".*"]
    receiver: 'notify-productionB'
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 1h
    group_by: ['job']
- matchers: [owner=~"team-(B|C)"]
  group_by: ['foo', 'bar']
  group_wait: 2m
  receiver: 'notify-BC'
- matchers: [group_by="role"]
  group_by: ['role']
  routes:
  - matchers: ['{env="testing"}']
    receiver: 'notify-testing'
    routes:
    - matchers: [wait="long"]
      group_wait: 2m
`;

interface Opts {
  receiver: string;
  groupBy: string[];
  groupByAll?: boolean;
  wait?: number;
  interval?: number;
  repeat?: number;
}
const S = 1000;
const M = 60 * S;
const view = (r: Route): Required<Opts> => ({
  receiver: r.receiver,
  groupBy: [...r.groupBy].sort(),
  groupByAll: r.groupByAll,
  wait: r.groupWaitMs,
  interval: r.groupIntervalMs,
  repeat: r.repeatIntervalMs,
});
const want = (o: Opts): Required<Opts> => ({ groupByAll: false, wait: 30 * S, interval: 5 * M, repeat: 4 * 60 * M, ...o, groupBy: [...o.groupBy].sort() });

// route_test.go TestRouteMatch / TestRouteMatchers: label set → expected route options and keys.
const table = (legacy: boolean): Array<[Record<string, string>, Opts[], string[]]> => {
  const A = legacy ? '{owner="team-A"}' : '{level!="critical",owner="team-A"}';
  return [
    [{ owner: 'team-A' }, [{ receiver: 'notify-A', groupBy: [] }], [`{}/${A}`]],
    [{ owner: 'team-A', env: 'unset' }, [{ receiver: 'notify-A', groupBy: [] }], [`{}/${A}`]],
    [{ owner: 'team-C' }, [{ receiver: 'notify-BC', groupBy: ['foo', 'bar'], wait: 2 * M }], [legacy ? '{}/{owner=~"^(?:team-(B|C))$"}' : '{}/{owner=~"team-(B|C)"}']],
    [
      { owner: 'team-A', env: 'testing' },
      [{ receiver: 'notify-testing', groupBy: [], groupByAll: true }],
      [`{}/${A}/${legacy ? '{env="testing"}' : '{baz!~".*quux",env="testing"}'}`],
    ],
    [
      { owner: 'team-A', env: 'production' },
      [
        { receiver: 'notify-productionA', groupBy: [], wait: M },
        { receiver: 'notify-productionB', groupBy: ['job'], wait: 30 * S, interval: 5 * M, repeat: 60 * M },
      ],
      [`{}/${A}/{env="production"}`, `{}/${A}/${legacy ? '{env=~"^(?:produ.*)$",job=~"^(?:.*)$"}' : '{env=~"produ.*",job=~".*"}'}`],
    ],
    [{ group_by: 'role' }, [{ receiver: 'notify-def', groupBy: ['role'] }], ['{}/{group_by="role"}']],
    [{ env: 'testing', group_by: 'role' }, [{ receiver: 'notify-testing', groupBy: ['role'] }], ['{}/{group_by="role"}/{env="testing"}']],
    [
      { env: 'testing', group_by: 'role', wait: 'long' },
      [{ receiver: 'notify-testing', groupBy: ['role'], wait: 2 * M }],
      ['{}/{group_by="role"}/{env="testing"}/{wait="long"}'],
    ],
  ];
};

for (const [name, yaml, legacy] of [
  ['match/match_re (TestRouteMatch)', LEGACY, true],
  ['matchers (TestRouteMatchers)', MATCHERS, false],
] as const) {
  test(`routes and keys as Alertmanager: ${name}`, (t) => {
    const root = tree(yaml);
    for (const [labels, opts, keys] of table(legacy)) {
      const got = routesFor(root, labels);
      t.deepEqual(got.map(view), opts.map(want), JSON.stringify(labels));
      t.deepEqual(got.map((r) => r.key), keys, JSON.stringify(labels));
    }
  });
}

test('walk order (TestRouteWalk) and post-order indices (TestRouteIndices)', (t) => {
  const root = tree(LEGACY);
  const got: string[] = [];
  root.walk((r) => got.push(r.receiver));
  t.deepEqual(got, ['notify-def', 'notify-A', 'notify-testing', 'notify-productionA', 'notify-productionB', 'notify-BC', 'notify-def', 'notify-testing', 'notify-testing']);
  const idx: number[] = [];
  root.walk((r) => idx.push(r.idx));
  t.deepEqual(idx, [8, 3, 0, 1, 2, 4, 7, 6, 5]);
});

test('group_by ... is inherited until a child sets group_by (TestInheritParentGroupByAll)', (t) => {
  const root = tree(`
routes:
- match:
    env: 'parent'
  group_by: ['...']
  routes:
  - match:
      env: 'child1'
  - match:
      env: 'child2'
    group_by: ['foo']
`);
  const parent = root.routes[0]!;
  t.true(parent.groupByAll);
  t.true(parent.routes[0]!.groupByAll);
  t.false(parent.routes[1]!.groupByAll);
});

test('unique route ids with sibling indices (TestRouteID)', (t) => {
  const root = tree(`
receiver: default
routes:
- {continue: true, matchers: [foo=bar], receiver: test1, routes: [{matchers: [bar=baz]}]}
- {continue: true, matchers: [foo=bar], receiver: test1, routes: [{matchers: [bar=baz]}]}
- {continue: true, matchers: [foo=bar], receiver: test2, routes: [{matchers: [bar=baz]}]}
- {continue: true, matchers: [bar=baz], receiver: test3, routes: [{matchers: [baz=qux]}, {matchers: [qux=corge]}]}
- {continue: true, matchers: ['qux=~"[a-zA-Z0-9]+"']}
- {continue: true, matchers: ['corge!~"[0-9]+"']}
`);
  const ids: string[] = [];
  root.walk((r) => ids.push(r.uniqueId));
  t.deepEqual(ids.sort(), [
    '{}',
    '{}/{foo="bar"}/0',
    '{}/{foo="bar"}/0/{bar="baz"}/0',
    '{}/{foo="bar"}/1',
    '{}/{foo="bar"}/1/{bar="baz"}/0',
    '{}/{foo="bar"}/2',
    '{}/{foo="bar"}/2/{bar="baz"}/0',
    '{}/{bar="baz"}/3',
    '{}/{bar="baz"}/3/{baz="qux"}/0',
    '{}/{bar="baz"}/3/{qux="corge"}/1',
    '{}/{qux=~"[a-zA-Z0-9]+"}/4',
    '{}/{corge!~"[0-9]+"}/5',
  ].sort());
  t.deepEqual(routesFor(root, { foo: 'bar', bar: 'baz' }).map((r) => r.receiver), ['test1', 'test1', 'test2', 'test3', 'default'], 'corge!~ matches a missing label');
});

test('group keys as Alertmanager builds them (route key : sorted, Go-quoted group labels)', (t) => {
  const root = tree(`
receiver: default
group_by: [alertname, service]
routes:
  - matchers: [team=ops]
    group_by: ['...']
`);
  const labels = { alertname: 'HighLatency', service: 'check"out', instance: 'a:1' };
  t.is(root.groupKey(labels), '{}:{alertname="HighLatency", service="check\\"out"}');
  t.deepEqual(root.groupLabels(labels), { alertname: 'HighLatency', service: 'check"out' });
  const [ops] = routesFor(root, { ...labels, team: 'ops' });
  t.is(ops!.groupKey({ ...labels, team: 'ops' }), '{}/{team="ops"}:{alertname="HighLatency", instance="a:1", service="check\\"out", team="ops"}');
  t.is(root.groupKey({ other: 'x' }), '{}:{}', 'missing group_by labels are left out');
});

test('a root with no matching child takes the alert; continue collects several routes in order', (t) => {
  const root = tree(`
receiver: default
routes:
  - {matchers: [a=1], receiver: first, continue: true}
  - {matchers: [a=1], receiver: second}
  - {matchers: [a=1], receiver: never}
`);
  t.deepEqual(routesFor(root, { a: '2' }).map((r) => r.receiver), ['default']);
  t.deepEqual(routesFor(root, { a: '1' }).map((r) => r.receiver), ['first', 'second']);
});

test('Lantern escalation is inherited unless a route sets its own; time intervals are not inherited', (t) => {
  const root = buildRouteTree(
    parseAlertmanagerConfig(`
route:
  receiver: team
  routes:
    - matchers: [severity=critical]
      escalation: [{after: 10m, receiver: lead}]
      mute_time_intervals: [night]
      routes:
        - {matchers: [service=db]}
        - {matchers: [service=web], escalation: []}
receivers: [{name: team}, {name: lead}]
time_intervals: [{name: night, time_intervals: [{times: [{start_time: '00:00', end_time: '06:00'}]}]}]
`),
  );
  const crit = root.routes[0]!;
  t.deepEqual(crit.escalation, [{ afterMs: 600_000, receiver: 'lead' }]);
  t.deepEqual(crit.routes[0]!.escalation, crit.escalation);
  t.deepEqual(crit.routes[1]!.escalation, []);
  t.deepEqual(root.escalation, []);
  t.deepEqual(crit.muteTimeIntervals, ['night']);
  t.deepEqual(crit.routes[0]!.muteTimeIntervals, [], 'as in route.go: each route names its own');
});
