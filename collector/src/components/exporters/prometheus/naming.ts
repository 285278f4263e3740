// OTLP names → Prometheus names, following the collector's translator/prometheus (normalize_name.go,
// normalize_label.go): dots and other separators become `_`, the unit becomes a suffix
// (ms → _milliseconds, By → _bytes, 1/s → _per_second), monotonic sums end in _total and gauges of unit
// "1" in _ratio.

const UNITS: Record<string, string> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};
const PER_UNITS: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

const tokens = (s: string) => s.split(/[^a-zA-Z0-9]+/).filter(Boolean);

export interface NameInput {
  name: string;
  unit?: string | undefined;
  /** counter = monotonic sum. */
  kind: 'counter' | 'gauge' | 'histogram' | 'summary';
}

/**
 * The Prometheus family name of an OTLP metric (a counter's without its `_total`, which the
 * exposition adds). Empty when nothing of the name is usable.
 */
export function familyName(m: NameInput, namespace: string | undefined, addSuffixes: boolean): string {
  if (!addSuffixes) {
    const base = m.name.replace(/[^a-zA-Z0-9_:]+/g, '_');
    return withPrefix(namespace ? `${namespace}_${base}` : base, base);
  }
  const t = tokens(m.name);
  if (t.length === 0) return '';
  const [main, per] = splitUnit(m.unit ?? '');
  for (const u of tokens(main)) if (!t.includes(u)) t.push(u);
  const perTokens = tokens(per);
  if (perTokens.length > 0 && !perTokens.every((u) => t.includes(u))) t.push('per', ...perTokens);
  if (m.kind === 'counter') removeAll(t, 'total');
  if (m.kind === 'gauge' && m.unit === '1') {
    removeAll(t, 'ratio');
    t.push('ratio');
  }
  const joined = t.join('_');
  return withPrefix(namespace ? `${namespace}_${joined}` : joined, joined);
}

function splitUnit(unit: string): [string, string] {
  const [rawMain = '', rawPer = ''] = unit.split('/', 2).map((s) => s.trim());
  // {request} and the like are annotations, not units
  const main = rawMain.includes('{') ? '' : (UNITS[rawMain] ?? rawMain);
  const per = rawPer.includes('{') ? '' : (PER_UNITS[rawPer] ?? rawPer);
  return [main, per];
}

function removeAll(t: string[], word: string): void {
  for (let i = t.indexOf(word); i >= 0; i = t.indexOf(word)) t.splice(i, 1);
}

const withPrefix = (name: string, base: string) => (base === '' ? '' : /^[0-9]/.test(name) ? `_${name}` : name);

/**
 * An attribute key as a label name: invalid characters → `_`; a leading digit gets `key_`, a
 * leading `_` gets `key` (so nothing becomes a reserved `__…` label such as __name__).
 */
export function labelName(key: string): string {
  if (key === '') return '';
  const s = key.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(s)) return `key_${s}`;
  if (s.startsWith('_')) return `key${s}`;
  return s;
}
