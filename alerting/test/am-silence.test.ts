// Silence matching and validation: Alertmanager's rules (silence.go validateSilence, the v2 API's time checks) and
// the active-only, all-matchers-match semantics of the silencer.
import test from 'ava';
import { silencedBy, validateSilence, ValidationError, type Matcher, type PostableSilence, type Silence } from '../src/index.js';

const NOW = new Date('2024-05-01T12:00:00Z');
const H = 3_600_000;
const at = (ms: number): Date => new Date(NOW.getTime() + ms);
const eq = (name: string, value: string, isRegex = false, isEqual = true): Matcher => ({ name, value, isRegex, isEqual });

function silence(id: string, matchers: Matcher[], startsAt = at(-H), endsAt = at(H)): Silence {
  return { id, matchers, startsAt, endsAt, createdBy: 'me', comment: 'c', annotations: {}, updatedAt: NOW };
}

test('silencedBy: active silences whose matchers all match, sorted', (t) => {
  const labels = { alertname: 'HighLatency', service: 'checkout', env: 'prod' };
  const all = [
    silence('b-regex', [eq('service', 'check.*', true), eq('env', 'prod')]),
    silence('a-exact', [eq('alertname', 'HighLatency')]),
    silence('c-partial', [eq('alertname', 'HighLatency'), eq('env', 'stage')]),
    silence('d-pending', [eq('alertname', 'HighLatency')], at(H), at(2 * H)),
    silence('e-expired', [eq('alertname', 'HighLatency')], at(-2 * H), at(-H)),
    silence('f-negative', [eq('service', 'payments', false, false)]),
    silence('g-not-regex', [eq('service', 'check.*', true, false)]),
    silence('h-missing-label-empty', [eq('team', ''), eq('env', 'prod')]),
  ];
  t.deepEqual(silencedBy(labels, all, NOW), ['a-exact', 'b-regex', 'f-negative', 'h-missing-label-empty']);
  t.deepEqual(silencedBy(labels, all, at(H)), ['d-pending'], 'at endsAt a silence has expired; the pending one started');
});

test('a stored silence with an invalid regex matches nothing (the flush goes on)', (t) => {
  t.deepEqual(silencedBy({ a: 'b' }, [silence('bad', [eq('a', '(', true)])], NOW), []);
});

const good = (): PostableSilence => ({
  matchers: [eq('alertname', 'HighLatency'), eq('env', 'prod|stage', true)],
  startsAt: NOW,
  endsAt: at(2 * H),
  createdBy: 'alice',
  comment: 'deploying checkout',
});

test('validateSilence accepts a good silence and returns compiled matchers', (t) => {
  const ms = validateSilence(good(), NOW);
  t.deepEqual(ms.map((m) => m.toString()), ['alertname="HighLatency"', 'env=~"prod|stage"']);
  t.true(ms[1]!.matches('stage'));
});

const rejections: Array<[string, (s: PostableSilence) => void, string, RegExp]> = [
  ['no matchers', (s) => (s.matchers = []), 'matchers', /at least one matcher/],
  ['all matchers match the empty string', (s) => (s.matchers = [eq('a', ''), eq('b', '.*', true)]), 'matchers', /must not match the empty string/],
  ['invalid label name', (s) => (s.matchers = [eq('bad-name', 'x')]), 'matchers[0].name', /invalid label name/],
  ['invalid regex', (s) => (s.matchers = [eq('a', 'x'), eq('b', '(', true)]), 'matchers[1].value', /invalid regular expression/],
  ['regex over 1 KiB', (s) => (s.matchers = [eq('a', 'x'.repeat(1025), true)]), 'matchers[0].value', /longer than 1024 bytes/],
  ['too many matchers', (s) => (s.matchers = Array.from({ length: 65 }, (_, i) => eq(`l${i}`, 'x'))), 'matchers', /at most 64/],
  ['startsAt after endsAt', (s) => (s.startsAt = at(3 * H)), 'endsAt', /start time must be before end time/],
  ['startsAt equal endsAt', (s) => (s.startsAt = s.endsAt), 'endsAt', /start time must be before end time/],
  ['endsAt in the past', (s) => ((s.startsAt = at(-3 * H)), (s.endsAt = at(-H))), 'endsAt', /can't be in the past/],
  ['invalid date', (s) => (s.startsAt = new Date('nope')), 'startsAt', /valid date-time/],
  ['missing comment', (s) => (s.comment = ' '), 'comment', /is required/],
  ['missing createdBy', (s) => (s.createdBy = ''), 'createdBy', /is required/],
  ['huge comment', (s) => (s.comment = 'x'.repeat(9000)), 'comment', /longer than 8192 bytes/],
];
for (const [name, mutate, field, msg] of rejections) {
  test(`validateSilence rejects: ${name}`, (t) => {
    const s = good();
    mutate(s);
    const e = t.throws(() => validateSilence(s, NOW), { instanceOf: ValidationError });
    t.is(e.field, field);
    t.regex(e.message, msg);
  });
}

test('a negative matcher alone passes the empty-string rule (as in Alertmanager)', (t) => {
  t.notThrows(() => validateSilence({ ...good(), matchers: [eq('env', 'prod', false, false)] }, NOW));
});
