// Prometheus's template functions (template/template.go and prometheus/common's templates), and the
// expansion Prometheus does for alert labels and annotations: the text is prefixed with the $labels,
// $externalLabels, $externalURL and $value definitions, and a failure yields "<error expanding template: …>".
import { formatFloat, goTimeString, sprintf } from './go-format.js';
import { type FuncMap, parseTemplate, type Template, TemplateError } from './go-template.js';
import { convertToFloat, GoInt, GoMap, GoStruct, type GoValue, parseGoFloat } from './go-value.js';

const g4 = (v: number): string => formatFloat(v, 'g', 4);

function humanize(i: GoValue): string {
  let v = convertToFloat(i);
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

function humanize1024(i: GoValue): string {
  let v = convertToFloat(i);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

export function humanizeDuration(i: GoValue): string {
  let v = convertToFloat(i);
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return g4(v) + 's';
  if (Math.abs(v) >= 1) {
    let sign = '';
    if (v < 0) {
      sign = '-';
      v = -v;
    }
    const duration = Math.trunc(v);
    const seconds = duration % 60;
    const minutes = Math.trunc(duration / 60) % 60;
    const hours = Math.trunc(duration / 3600) % 24;
    const days = Math.trunc(duration / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${g4(v)}${prefix}s`;
}

function humanizeTimestamp(i: GoValue): string {
  const v = convertToFloat(i);
  if (!Number.isFinite(v)) return g4(v);
  // model.TimeFromUnixNano(int64(v*1e9)) keeps milliseconds; anything beyond int64 nanoseconds is an error.
  const ns = v * 1e9;
  if (ns >= 2 ** 63 || ns < -(2 ** 63)) {
    throw new Error(`${formatFloat(v, 'g', -1)} cannot be represented as a nanoseconds timestamp since it overflows int64`);
  }
  const ms = Math.trunc(ns / 1e6);
  return goTimeString(new Date(ms));
}

/** Go's RE2 syntax to JS: named groups (?P<n>…) become (?<n>…). */
function goRegExp(pattern: string, flags = ''): RegExp {
  let p = pattern.replace(/\(\?P</g, '(?<');
  // (?i) etc. at the start: JS takes flags separately
  const m = /^\(\?([imsU]+)\)/.exec(p);
  if (m) {
    p = p.slice(m[0].length);
    for (const f of m[1]!) if ('ims'.includes(f) && !flags.includes(f)) flags += f;
  }
  try {
    return new RegExp(p, flags + 'u');
  } catch (e) {
    throw new Error(`regexp: Compile(${JSON.stringify(pattern)}): ${(e as Error).message}`);
  }
}

/** regexp.ReplaceAllString: $1, ${1}, $name, ${name} (greedy names, missing → ""), $$ → $. */
function reReplaceAll(pattern: string, repl: string, text: string): string {
  const re = goRegExp(pattern, 'g');
  return text.replace(re, (...m: unknown[]) => {
    const hasGroups = typeof m[m.length - 1] === 'object' && m[m.length - 1] !== null;
    const groups = (hasGroups ? m[m.length - 1] : {}) as Record<string, string | undefined>;
    const numbered = m.slice(0, hasGroups ? -3 : -2) as (string | undefined)[];
    return repl.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_all, _x: string, braced?: string, bare?: string) => {
      if (_all === '$$') return '$';
      const name = braced ?? bare ?? '';
      if (/^\d+$/.test(name)) return numbered[Number(name)] ?? '';
      return groups[name] ?? '';
    });
  });
}

function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'’])(\p{L})/gu, (_m, pre: string, ch: string) => pre + ch.toUpperCase());
}

function splitHostPort(hp: string): { host: string; port: string } | undefined {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(hp) ?? /^([^:[\]]*):([^:[\]]*)$/.exec(hp);
  return m ? { host: m[1]!, port: m[2]! } : undefined;
}

function isIP(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));
}

function stripDomain(hostPort: string): string {
  const hp = splitHostPort(hostPort);
  const host = hp ? hp.host : hostPort;
  if (isIP(host)) return hostPort;
  const short = host.split('.')[0]!;
  if (hp && hp.port !== '') return short.includes(':') ? `[${short}]:${hp.port}` : `${short}:${hp.port}`;
  return short;
}

function parseDuration(d: string): number {
  const m = /^(-)?((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/.exec(d);
  if (!m || d === '' || d === '-') throw new Error(`not a valid duration string: ${JSON.stringify(d)}`);
  const n = (i: number) => Number(m[i] ?? 0);
  const secs = n(3) * 365 * 86400 + n(5) * 7 * 86400 + n(7) * 86400 + n(9) * 3600 + n(11) * 60 + n(13) + n(15) / 1000;
  return m[1] ? -secs : secs;
}

export function graphLinkForExpression(expr: string, tab = 0): string {
  return `/graph?g0.expr=${encodeURIComponent(expr).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())}&g0.tab=${tab}`;
}

const unsupported = (name: string) => (): GoValue => {
  throw new Error(`${name}() is not supported by this rule evaluator`);
};

/** Prometheus's template FuncMap. `query` and friends parse (so promtool-valid files load) but fail when run. */
export function prometheusFuncs(opts: { now: number; externalURL: string }): FuncMap {
  const s = 'string' as const;
  const a = 'any' as const;
  return {
    humanize: { params: [a], fn: humanize },
    humanize1024: { params: [a], fn: humanize1024 },
    humanizeDuration: { params: [a], fn: humanizeDuration },
    humanizePercentage: { params: [a], fn: (i) => `${g4(convertToFloat(i) * 100)}%` },
    humanizeTimestamp: { params: [a], fn: humanizeTimestamp },
    printf: { params: [s], variadic: true, fn: (f, ...rest) => sprintf(f as string, rest) },
    toUpper: { params: [s], fn: (x) => (x as string).toUpperCase() },
    toLower: { params: [s], fn: (x) => (x as string).toLowerCase() },
    title: { params: [s], fn: (x) => title(x as string) },
    match: { params: [s, s], fn: (p, x) => goRegExp(p as string).test(x as string) },
    reReplaceAll: { params: [s, s, s], fn: (p, r, x) => reReplaceAll(p as string, r as string, x as string) },
    safeHtml: { params: [s], fn: (x) => x },
    stripPort: { params: [s], fn: (x) => splitHostPort(x as string)?.host ?? (x as string) },
    stripDomain: { params: [s], fn: (x) => stripDomain(x as string) },
    graphLink: { params: [s], fn: (x) => graphLinkForExpression(x as string, 0) },
    tableLink: { params: [s], fn: (x) => graphLinkForExpression(x as string, 1) },
    urlQueryEscape: { params: [s], fn: (x) => encodeURIComponent(x as string).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()) },
    parseDuration: { params: [s], fn: (x) => parseDuration(x as string) },
    toTime: { params: [a], fn: (x) => new Date(Math.trunc(convertToFloat(x) * 1000)) },
    toDuration: { params: [a], fn: unsupported('toDuration') },
    now: { params: [], fn: () => opts.now },
    externalURL: { params: [], fn: () => opts.externalURL },
    pathPrefix: { params: [], fn: () => { try { return new URL(opts.externalURL).pathname.replace(/\/$/, ''); } catch { return ''; } } },
    args: { params: [], variadic: true, fn: (...xs) => new GoMap(new Map(xs.map((x, i) => [`arg${i}`, x])), null, 'map[string]interface {}') },
    query: { params: [s], fn: unsupported('query') },
    first: { params: [a], fn: unsupported('first') },
    label: { params: [s, a], fn: unsupported('label') },
    value: { params: [a], fn: unsupported('value') },
    strvalue: { params: [a], fn: unsupported('strvalue') },
    sortByLabel: { params: [s, a], fn: unsupported('sortByLabel') },
  };
}

const DEFS = '{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}';

export interface AlertTemplateData {
  labels: Record<string, string>;
  externalLabels: Record<string, string>;
  externalURL: string;
  value: number;
}

/** The template's data (`.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`): build it once per alert for all its templates. */
export function alertTemplateData(d: AlertTemplateData): GoStruct {
  return new GoStruct({
    Labels: GoMap.ofStrings(d.labels),
    ExternalLabels: GoMap.ofStrings(d.externalLabels),
    ExternalURL: d.externalURL,
    Value: d.value,
  });
}

/** Parses like rulefmt's testTemplateParsing: returns the parse error, if any. */
export function checkAlertTemplate(ruleName: string, text: string): string | undefined {
  try {
    parseTemplate(`__alert_${ruleName}`, DEFS + text, prometheusFuncs({ now: 0, externalURL: '' }));
    return undefined;
  } catch (e) {
    if (e instanceof TemplateError) return e.message;
    throw e;
  }
}

/** An alert label/annotation template parsed once and expanded at every evaluation (AlertingRule.Eval). */
export interface AlertTemplate {
  /** The expansion, or "<error expanding template: …>" with `error` set; never throws. */
  expand(data: AlertTemplateData | GoStruct, at: Date): { result: string; error?: string };
}

const failed = (msg: string): { result: string; error: string } => ({ result: `<error expanding template: ${msg}>`, error: msg });

/**
 * Parses `text` once (parsing is most of an expansion's cost: a rule with 5 alerts and 3 templates would
 * otherwise parse 15 times per evaluation). `now` and `$externalURL` are read at expansion time, so one
 * compiled template serves every evaluation. Expansion is synchronous, so the shared state is safe.
 */
export function compileAlertTemplate(ruleName: string, text: string): AlertTemplate {
  const name = `__alert_${ruleName}`;
  // Text without actions expands to itself (the definitions prefix prints nothing).
  if (!text.includes('{{')) return { expand: () => ({ result: text }) };
  const env = { now: 0, externalURL: '' };
  let tmpl: Template;
  try {
    tmpl = parseTemplate(name, DEFS + text, prometheusFuncs(env));
  } catch (e) {
    const err = failed(`error parsing template ${name}: ${(e as Error).message}`);
    return { expand: () => err };
  }
  return {
    expand(data, at) {
      const value = data instanceof GoStruct ? data : alertTemplateData(data);
      env.now = at.getTime() / 1000;
      env.externalURL = value.fields.ExternalURL as string;
      try {
        return { result: tmpl.execute(value) };
      } catch (e) {
        return failed(`error executing template ${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}

/** Expands an alert label/annotation template as AlertingRule.Eval does; never throws. */
export function expandAlertTemplate(
  ruleName: string,
  text: string,
  data: AlertTemplateData,
  at: Date,
): { result: string; error?: string } {
  return compileAlertTemplate(ruleName, text).expand(data, at);
}

/** Exposed for tests that run Prometheus's template_test.go cases against arbitrary data. */
export function expandWith(text: string, data: GoValue, opts: { now?: number; externalURL?: string } = {}): string {
  const funcs = prometheusFuncs({ now: opts.now ?? 0, externalURL: opts.externalURL ?? '' });
  return parseTemplate('test', text, funcs).execute(data);
}

export { GoInt, GoMap, GoStruct, parseGoFloat };
