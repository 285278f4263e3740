// Matchers: cases ported from Alertmanager's pkg/labels/parse_test.go and matcher_test.go, the UTF-8 quoted-name
// form, Go regex translation, API conversion and the size guard.
import test from 'ava';
import {
  fromApiMatcher,
  LabelMatcher,
  matches as matchAll,
  matchersToString,
  MAX_REGEX_BYTES,
  parseMatcher,
  parseMatchers,
  ParseError,
  toApiMatcher,
  ValidationError,
  type MatchType,
} from '../src/index.js';

const m = (type: MatchType, name: string, value: string): [MatchType, string, string] => [type, name, value];
const shape = (input: string): Array<[MatchType, string, string]> => parseMatchers(input).map((x) => m(x.type, x.name, x.value));

// parse_test.go TestMatchers (want cases)
const good: Array<[string, Array<[MatchType, string, string]>]> = [
  ['{}', []],
  ["{foo='}", [m('=', 'foo', "'")]],
  ['{foo=`}', [m('=', 'foo', '`')]],
  ['{foo=\\"}', [m('=', 'foo', '"')]],
  ['{foo=bar}', [m('=', 'foo', 'bar')]],
  ['{foo="bar"}', [m('=', 'foo', 'bar')]],
  ['{foo=~bar.*}', [m('=~', 'foo', 'bar.*')]],
  ['{foo=~"bar.*"}', [m('=~', 'foo', 'bar.*')]],
  ['{foo!=bar}', [m('!=', 'foo', 'bar')]],
  ['{foo!~"bar.*"}', [m('!~', 'foo', 'bar.*')]],
  ['{foo="bar", baz!="quux"}', [m('=', 'foo', 'bar'), m('!=', 'baz', 'quux')]],
  ['{foo="bar",baz!~".*quux", derp="wat"}', [m('=', 'foo', 'bar'), m('!~', 'baz', '.*quux'), m('=', 'derp', 'wat')]],
  ['{foo=""}', [m('=', 'foo', '')]],
  ['{foo="bar,quux", job="job1"}', [m('=', 'foo', 'bar,quux'), m('=', 'job', 'job1')]],
  ['{foo = "bar", dings != "bums", }', [m('=', 'foo', 'bar'), m('!=', 'dings', 'bums')]],
  ['foo=bar,dings!=bums', [m('=', 'foo', 'bar'), m('!=', 'dings', 'bums')]],
  ['{quote="She said: \\"Hi, ladies! That\'s gender-neutral…\\""}', [m('=', 'quote', 'She said: "Hi, ladies! That\'s gender-neutral…"')]],
  ['statuscode=~"5.."', [m('=~', 'statuscode', '5..')]],
  ['tricky=~~~', [m('=~', 'tricky', '~~')]],
  ['trickier==\\\\=\\=\\"', [m('=', 'trickier', '=\\=\\="')]],
  ['contains_quote != "\\"" , contains_comma !~ "foo,bar" , ', [m('!=', 'contains_quote', '"'), m('!~', 'contains_comma', 'foo,bar')]],
  ['{foo=bar}}', [m('=', 'foo', 'bar}')]],
  ['{foo=bar}},}', [m('=', 'foo', 'bar}}')]],
  ['{foo=,bar=}}', [m('=', 'foo', ''), m('=', 'bar', '}')]],
  ['{foo=bar\\t}', [m('=', 'foo', 'bar\\t')]],
  ['{foo=bar\\n}', [m('=', 'foo', 'bar\n')]],
  ['{foo=bar\\}', [m('=', 'foo', 'bar\\')]],
  ['{foo=bar\\\\}', [m('=', 'foo', 'bar\\')]],
  ['{foo=bar\\"}', [m('=', 'foo', 'bar"')]],
  ['job=', [m('=', 'job', '')]],
  ['{foo=', [m('=', 'foo', '')]],
  ['{foo=}b', [m('=', 'foo', '}b')]],
];
for (const [input, want] of good) test(`parses ${input}`, (t) => t.deepEqual(shape(input), want));

// parse_test.go TestMatchers (error cases)
const bad: Array<[string, RegExp]> = [
  [',', /bad matcher format/],
  ['{,}', /bad matcher format/],
  ['job="value', /unescaped double quote: "value/],
  ['job=value"', /unescaped double quote: value"/],
  ['trickier==\\\\=\\=\\""', /unescaped double quote/],
  ['contains_unescaped_quote = foo"bar', /unescaped double quote: foo"bar/],
  ['{invalid-name = "valid label"}', /bad matcher format: invalid-name/],
  ['{foo=~"invalid[regexp"}', /invalid regular expression "invalid\[regexp"/],
  ['"{foo=\\"bar"}', /bad matcher format/],
  ['"foo=\\"bar"', /bad matcher format/],
  ['"foo=\\"bar\\""', /bad matcher format/],
  ['"foo="bar""', /bad matcher format/],
  ['{{foo=', /bad matcher format: {foo=/],
];
for (const [input, want] of bad)
  test(`rejects ${input}`, (t) => {
    const e = t.throws(() => parseMatchers(input), { instanceOf: ParseError });
    t.regex(e.message, want);
    t.true(e instanceof ValidationError, 'the API turns it into a 400');
    t.true(e.message.includes(JSON.stringify(input)), 'names the input');
  });

test('errors give the position of the offending part', (t) => {
  const e = t.throws(() => parseMatchers('a="b", c=d"e'), { instanceOf: ParseError });
  t.is(e.position, 7 + 3, 'the stray quote in the second matcher');
  const r = t.throws(() => parseMatchers('a="b",c=~"(x"'), { instanceOf: ParseError });
  t.is(r.position, 9, 'where the regex value starts');
  t.regex(r.message, /invalid regular expression "\(x"/);
});

test('quoted UTF-8 label names (AM ≥ 0.27 matchers) parse; unquoted invalid names do not', (t) => {
  t.deepEqual(shape('{"service.name"="api", "a b"=~"x|y"}'), [m('=', 'service.name', 'api'), m('=~', 'a b', 'x|y')]);
  t.deepEqual(shape('"emoji 🙂"!="\\u00e9"'), [m('!=', 'emoji 🙂', 'é')]);
  t.throws(() => parseMatchers('service.name=api'), { instanceOf: ParseError });
  t.throws(() => parseMatchers('{"a"="b"'), { instanceOf: ParseError });
  t.is(parseMatchers('{"a b"="c"}')[0]!.toString(), '"a b"="c"', 'printed Go-quoted as AM does');
});

test('parseMatcher takes exactly one matcher and no braces', (t) => {
  t.is(parseMatcher('foo=~"b.*"').toString(), 'foo=~"b.*"');
  t.throws(() => parseMatcher('{foo="bar"}'), { message: /unexpected open or close brace/ });
  t.throws(() => parseMatcher('a=b,c=d'), { message: /expected 1 matcher, found 2/ });
});

// matcher_test.go TestMatcher
test('matching: equality, negation, anchored regexes, missing label is ""', (t) => {
  const cases: Array<[string, string | undefined, boolean]> = [
    ['foo="bar"', 'bar', true],
    ['foo="bar"', 'foo-bar', false],
    ['foo!="bar"', 'bar', false],
    ['foo!="bar"', 'foo', true],
    ['foo=~"bar"', 'bar', true],
    ['foo=~"bar"', 'foo-bar', false],
    ['foo=~"bar"', 'bar-foo', false, ],
    ['foo=~"bar|baz"', 'baz', true],
    ['foo=~".*bar"', 'foo-bar', true],
    ['foo!~"bar"', 'foo-bar', true],
    ['foo!~"bar"', 'bar', false],
    ['foo!~".*"', 'anything', false],
    ['foo=""', undefined, true],
    ['foo!=""', undefined, false],
    ['foo=~".*"', undefined, true],
    ['foo=~".+"', undefined, false],
    ['foo!~"bar"', undefined, true],
  ];
  for (const [input, value, want] of cases) {
    const ms = parseMatchers(input);
    t.is(matchAll(ms, value === undefined ? { other: 'x' } : { foo: value }), want, `${input} on ${String(value)}`);
  }
});

test('Go regex syntax: leading flags, POSIX classes, named groups, \\z; RE2-only rejections', (t) => {
  t.true(parseMatcher('a=~"(?i)CRIT.*"').matches('critical'));
  t.true(parseMatcher('a=~"[[:digit:]]{3}"').matches('503'));
  t.false(parseMatcher('a=~"[[:digit:]]{3}"').matches('5x3'));
  t.true(parseMatcher('a=~"(?P<code>5..)"').matches('502'));
  t.true(parseMatcher('a=~"x\\\\-y"').matches('x-y'), 'Go accepts \\- outside a class');
  t.true(parseMatcher('a=~"\\\\p{Greek}+"').matches('αβ'));
  t.true(parseMatcher('a=~"[]a]"').matches(']'), "']' first in a class is literal in Go");
  t.true(parseMatcher('a=~"é."').matches('éé'));
  t.throws(() => parseMatcher('a=~"(?=x)x"'), { message: /lookahead and lookbehind are not supported/ });
  t.throws(() => parseMatcher('a=~"(a)\\\\1"'), { message: /backreferences are not supported/ });
  t.throws(() => parseMatcher('a=~"a(?i)b"'), { message: /flags are supported only at the start/ });
});

test('regex size is bounded on request (API input), not for config files', (t) => {
  const big = `x=~"${'a|'.repeat(MAX_REGEX_BYTES)}b"`;
  t.throws(() => parseMatchers(big, { maxRegexBytes: MAX_REGEX_BYTES, field: 'filter' }), { message: /^filter: .*longer than 1024 bytes/ });
  t.is(parseMatchers(big).length, 1);
});

test('v2 API matcher shape round-trips; isEqual absent means equal', (t) => {
  for (const input of ['a="b"', 'a!="b"', 'a=~"b.*"', 'a!~"b.*"']) {
    const lm = parseMatcher(input);
    const api = toApiMatcher(lm);
    t.is(fromApiMatcher(api).toString(), lm.toString());
  }
  t.deepEqual(toApiMatcher(parseMatcher('a!~"x"')), { name: 'a', value: 'x', isRegex: true, isEqual: false });
  const legacy = { name: 'a', value: 'x', isRegex: false } as unknown as Parameters<typeof fromApiMatcher>[0];
  t.is(fromApiMatcher(legacy).type, '=');
  t.throws(() => fromApiMatcher({ name: 'a', value: '(', isRegex: true, isEqual: true }), { message: /invalid regular expression/ });
});

test('String() as Alertmanager prints matchers (OpenMetrics escaping)', (t) => {
  t.is(matchersToString(parseMatchers('{a="x\\"y", b=~"1\\\\d"}')), '{a="x\\"y",b=~"1\\\\d"}');
  t.is(new LabelMatcher('=', 'a', 'line\nbreak').toString(), 'a="line\\nbreak"');
});
