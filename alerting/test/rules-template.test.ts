// Alert templating: cases copied from Prometheus's template/template_test.go (outputs are Prometheus's),
// plus the alert-expansion behaviour of rules/alerting.go.
import test from 'ava';
import { expandWith, GoInt, GoMap, GoStruct } from '../src/rules/template/prometheus-funcs.js';
import { checkAlertTemplate, expandAlertTemplate } from '../src/rules/template/prometheus-funcs.js';
import type { GoValue } from '../src/rules/template/go-value.js';

const ints = (xs: (number | bigint)[], unsigned = false): GoValue[] => xs.map((x) => new GoInt(BigInt(x), unsigned));
const MAXI64 = 9223372036854775807n;
const MAXU64 = 18446744073709551615n;

const cases: { text: string; input?: GoValue; output?: string; fail?: true }[] = [
  { text: 'plain text', output: 'plain text' },
  { text: '{{ 1 }}', output: '1' },
  { text: '{{ }}', fail: true },
  { text: '{{', fail: true },
  { text: '{{ reReplaceAll "(a)b" "x$1" "ab" }}', output: 'xa' },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: [0.0, 1.0, 1234567.0, 0.12], output: '0:1:1.235M:120m:' },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: ['0.0', '1.0', '1234567.0', '.12'], output: '0:1:1.235M:120m:' },
  { text: '{{ humanize "one" }}', fail: true },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: ints([0, -1, 1, 1234567, MAXI64]), output: '0:-1:1:1.235M:9.223E:' },
  { text: '{{ range . }}{{ humanize . }}:{{ end }}', input: ints([0, 1, 1234567, MAXU64], true), output: '0:1:1.235M:18.45E:' },
  { text: '{{ range . }}{{ humanize1024 . }}:{{ end }}', input: [0.0, 1.0, 1048576.0, 0.12], output: '0:1:1Mi:0.12:' },
  { text: '{{ range . }}{{ humanize1024 . }}:{{ end }}', input: ['0.0', '1.0', '1048576.0', '.12'], output: '0:1:1Mi:0.12:' },
  { text: '{{ humanize1024 "one" }}', fail: true },
  { text: '{{ range . }}{{ humanize1024 . }}:{{ end }}', input: ints([0, -1, 1, 1234567, MAXI64]), output: '0:-1:1:1.177Mi:8Ei:' },
  { text: '{{ range . }}{{ humanize1024 . }}:{{ end }}', input: ints([0, 1, 1234567, MAXU64], true), output: '0:1:1.177Mi:16Ei:' },
  {
    text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}',
    input: [0, 1, 60, 3600, 86400, 86400 + 3600, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5), 899.99],
    output: '0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:',
  },
  { text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}', input: ['0', '1', '60', '3600', '86400'], output: '0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:' },
  {
    text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}',
    input: [0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345],
    output: '100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:',
  },
  { text: '{{ humanizeDuration "one" }}', fail: true },
  { text: '{{ range . }}{{ humanizeDuration . }}:{{ end }}', input: ints([0, -1, 1, 1234567]), output: '0s:-1s:1s:14d 6h 56m 7s:' },
  {
    text: '{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}',
    input: [Infinity, -Infinity, NaN],
    output: '+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:',
  },
  {
    text: '{{ range . }}{{ humanize . }}:{{ humanize1024 . }}:{{ humanizeDuration . }}:{{humanizeTimestamp .}}:{{ end }}',
    input: ['+Inf', '-Inf', 'NaN'],
    output: '+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:',
  },
  {
    text: '{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}',
    output: '-22.22%:0%:12.35%:123.5%',
  },
  { text: '{{ range . }}{{ humanizePercentage . }}:{{ end }}', input: ints([0, -1, 1, 1234567, MAXI64]), output: '0%:-100%:100%:1.235e+08%:9.223e+20%:' },
  {
    text: '{{ "-0.22222" | humanizePercentage }}:{{ "0.0" | humanizePercentage }}:{{ "0.1234567" | humanizePercentage }}:{{ "1.23456" | humanizePercentage }}',
    output: '-22.22%:0%:12.35%:123.5%',
  },
  { text: '{{ "one" | humanizePercentage }}', fail: true },
  {
    text: '{{ range . }}{{ humanizeTimestamp . }}:{{ end }}',
    input: ints([0, -1, 1, 1234567, 9223372036]),
    output: '1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-01 00:00:01 +0000 UTC:1970-01-15 06:56:07 +0000 UTC:2262-04-11 23:47:16 +0000 UTC:',
  },
  { text: '{{ range . }}{{ humanizeTimestamp . }}:{{ end }}', input: ints([-9223372036854775808n, MAXI64]), fail: true },
  { text: '{{ 1435065584.128 | humanizeTimestamp }}', output: '2015-06-23 13:19:44.128 +0000 UTC' },
  { text: '{{ "1435065584.128" | humanizeTimestamp }}', output: '2015-06-23 13:19:44.128 +0000 UTC' },
  { text: '{{ "aa bb CC" | title }}', output: 'Aa Bb CC' },
  { text: '{{ "aa bb CC" | toUpper }}', output: 'AA BB CC' },
  { text: '{{ "aA bB CC" | toLower }}', output: 'aa bb cc' },
  { text: '{{ match "a+" "aa" }} {{ match "a+" "b" }}', output: 'true false' },
  { text: '{{ "up" | graphLink }}', output: '/graph?g0.expr=up&g0.tab=0' },
  { text: '{{ "up" | tableLink }}', output: '/graph?g0.expr=up&g0.tab=1' },
  { text: '{{ .Foo }}', input: new GoMap(new Map(), ''), output: '' },
  // text/template semantics Prometheus templates rely on
  { text: '{{ printf "%s %d %f %.2f %v" "a" 3 1.5 2.345 7.0 }}', output: 'a 3 1.500000 2.35 7' },
  { text: '{{ printf "%d" 1.5 }}', output: '%!d(float64=1.5)' },
  { text: '{{ if gt 2.5 1.0 }}big{{ else }}small{{ end }}', output: 'big' },
  { text: '{{ if gt 2.5 1 }}x{{ end }}', fail: true }, // float64 vs int: "incompatible types for comparison"
  { text: '{{ if eq "a" "b" }}1{{ else if eq "a" "a" }}2{{ else }}3{{ end }}', output: '2' },
  { text: '{{ if and (ge 3 3) (le 2 3) (ne 1 2) (lt 1 2) }}ok{{ end }}', output: 'ok' },
  { text: 'a  {{- 1 -}}  b', output: 'a1b' },
  { text: '{{/* comment */}}x', output: 'x' },
  { text: '{{ $x := 1 }}{{ $x = 2 }}{{ $x }}', output: '2' },
  { text: '{{ $y }}', fail: true },
  { text: '{{ nosuchfunc 1 }}', fail: true },
  { text: '{{ if 1 }}x', fail: true },
  { text: '{{ end }}', fail: true },
  { text: '{{ 1234567.0 }} {{ 100000.0 }} {{ 0.1 }}', output: '1.234567e+06 100000 0.1' },
  { text: '{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}', input: GoMap.ofStrings({ b: '2', a: '1' }), output: 'a=1;b=2;' },
];

for (const [i, c] of cases.entries()) {
  test(`template_test.go case ${i}: ${c.text}`, (t) => {
    if (c.fail) {
      t.throws(() => expandWith(c.text, c.input ?? null));
      return;
    }
    t.is(expandWith(c.text, c.input ?? null), c.output!);
  });
}

const data = { labels: { instance: 'db-1:9100', job: 'node', severity: 'page' }, externalLabels: { cluster: 'eu1' }, externalURL: 'http://prom.example:9090', value: 0.9512 };

test('alert templates see $labels, $value, $externalLabels, $externalURL', (t) => {
  const at = new Date();
  const r = (s: string) => expandAlertTemplate('DiskFull', s, data, at);
  t.is(r('{{ $labels.instance }} on {{ $externalLabels.cluster }}').result, 'db-1:9100 on eu1');
  t.is(r('{{ $value | humanizePercentage }} full').result, '95.12% full');
  t.is(r('{{ $externalURL }}/alerts').result, 'http://prom.example:9090/alerts');
  t.is(r('{{ $labels.missing }}').result, '');
  t.is(r('{{ $labels.instance | stripPort | toUpper }}').result, 'DB-1');
  t.is(r('{{ printf "%.1f" $value }}').result, '1.0');
  t.is(r('{{ if gt $value 0.9 -}} critical {{- else -}} warning {{- end }}').result, 'critical');
  t.is(r('{{ reReplaceAll ":.*" "" $labels.instance }}').result, 'db-1');
  t.is(r('{{ $value }}').result, '0.9512');
});

test('an execution error leaves Prometheus\'s "<error expanding template: …>" text instead of throwing', (t) => {
  const out = expandAlertTemplate('HighLoad', 'load {{ $value | toUpper }}', data, new Date());
  t.truthy(out.error);
  t.true(out.result.startsWith('<error expanding template: error executing template __alert_HighLoad:'), out.result);
  t.regex(out.result, /expected string; got float64/);
  const cmp = expandAlertTemplate('HighLoad', '{{ if gt $value 1 }}x{{ end }}', data, new Date());
  t.regex(cmp.result, /incompatible types for comparison/);
});

test('parse errors are found by checkAlertTemplate, as promtool finds them', (t) => {
  t.is(checkAlertTemplate('A', '{{ $labels.x }} {{ humanize $value }}'), undefined);
  t.regex(checkAlertTemplate('A', '{{ $labels.x ') ?? '', /unclosed action/);
  t.regex(checkAlertTemplate('A', '{{ humanise $value }}') ?? '', /function "humanise" not defined/);
  t.regex(checkAlertTemplate('A', '{{ $lables.x }}') ?? '', /undefined variable "\$lables"/);
  t.regex(checkAlertTemplate('A', '{{ if $value }}x') ?? '', /unexpected EOF/);
});

test('struct fields that do not exist are execution errors (Go semantics)', (t) => {
  t.throws(() => expandWith('{{ .Nope }}', new GoStruct({ A: 'x' })), { message: /can't evaluate field Nope/ });
});
