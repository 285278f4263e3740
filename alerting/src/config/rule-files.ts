// Prometheus rule files, loaded as Prometheus loads them (model/rulefmt/rulefmt.go): YAML decoded strictly
// (unknown fields, wrong types and duplicate keys refused, like yaml.v3 with KnownFields), then validated
// like rulefmt's Validate: group names present and unique per file, exactly one of alert/record, a PromQL
// expression that parses, record a valid metric name, no annotations/for/keep_firing_for on recording rules,
// valid label and annotation names, and alert templates that parse. Every problem names the file, the group
// (name and index) and the rule (1-based index, as promtool prints it, and name); one bad rule refuses the file.
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { ConfigError } from '../model/errors.js';
import { LABEL_NAME } from '../model/labels.js';
import { checkPromQL } from '../rules/promql-check.js';
import { checkAlertTemplate } from '../rules/template/prometheus-funcs.js';

export interface RuleDefinition {
  kind: 'alert' | 'record';
  /** The alert name or the recorded metric name. */
  name: string;
  expr: string;
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroupDefinition {
  file: string;
  name: string;
  /** Undefined: the engine's default evaluation interval. */
  intervalMs?: number;
  /** 0: no limit. */
  limit: number;
  queryOffsetMs?: number;
  /** Group labels (newer Prometheus): added to every rule's labels, rule labels win. */
  labels: Record<string, string>;
  rules: RuleDefinition[];
}

export interface RuleProblem {
  file: string;
  group?: string;
  groupIndex?: number;
  /** 1-based, as promtool reports it. */
  rule?: number;
  ruleName?: string;
  /** Dotted path of the offending key, e.g. groups[0].rules[2].expr. */
  key: string;
  line?: number;
  column?: number;
  message: string;
}

/** A rule file promtool would refuse; `problems` lists every reason. The whole file is refused. */
export class RuleFileError extends ConfigError {
  constructor(
    file: string,
    readonly problems: RuleProblem[],
  ) {
    super(problems[0]?.key ?? '', problems.map(describeProblem).join('; '), file);
  }
}

export function describeProblem(p: RuleProblem): string {
  const pos = p.line !== undefined ? `${p.line}:${p.column}: ` : '';
  const where: string[] = [];
  if (p.group !== undefined) where.push(`group "${p.group}" (index ${p.groupIndex})`);
  if (p.rule !== undefined) where.push(`rule ${p.rule} "${p.ruleName ?? ''}"`);
  return `${pos}${where.length ? where.join(', ') + ': ' : ''}${p.message}`;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/** prometheus/common model.ParseDuration: "1h30m", "5m", "0"; units in order, no sign, no fractions. */
export function parsePromDuration(s: string): number {
  if (s === '') throw new Error('empty duration string');
  if (s === '0') return 0;
  const m = DURATION.exec(s);
  if (!m) throw new Error(`not a valid duration string: "${s}"`);
  return UNIT_MS.reduce((sum, unit, i) => sum + Number(m[i + 1] ?? 0) * unit, 0);
}

class Decoder {
  readonly problems: RuleProblem[] = [];
  constructor(
    readonly file: string,
    private readonly lc: LineCounter,
  ) {}

  pos(n: YamlNode | null | undefined): { line?: number; column?: number } {
    const off = n?.range?.[0];
    if (off === undefined) return {};
    const { line, col } = this.lc.linePos(off);
    return { line, column: col };
  }

  problem(key: string, message: string, node?: YamlNode | null, ctx: Partial<RuleProblem> = {}): void {
    this.problems.push({ file: this.file, key, ...this.pos(node), ...ctx, message });
  }

  /** A Go string field: any scalar's text; null is "". */
  str(node: unknown, key: string): string {
    if (node === undefined || node === null) return '';
    if (isScalar(node)) {
      if (node.value === null) return '';
      return typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
    }
    this.problem(key, `cannot unmarshal ${isMap(node) ? '!!map' : '!!seq'} into string`, node as YamlNode);
    return '';
  }

  duration(node: unknown, key: string): number | undefined {
    if (node === undefined || (isScalar(node) && node.value === null)) return undefined;
    const s = this.str(node, key);
    try {
      return parsePromDuration(s);
    } catch (e) {
      this.problem(key, (e as Error).message, node as YamlNode);
      return undefined;
    }
  }

  int(node: unknown, key: string): number {
    if (node === undefined || (isScalar(node) && node.value === null)) return 0;
    if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value) && !/[.eE]/.test(node.source ?? '')) return node.value;
    const src = isScalar(node) ? `\`${node.source ?? String(node.value)}\`` : '';
    this.problem(key, `cannot unmarshal ${src || 'value'} into int`, node as YamlNode);
    return 0;
  }

  /** A map[string]string. */
  strMap(node: unknown, key: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (node === undefined || (isScalar(node) && node.value === null)) return out;
    if (!isMap(node)) {
      this.problem(key, 'cannot unmarshal into map[string]string', node as YamlNode);
      return out;
    }
    for (const pair of node.items as Pair<unknown, unknown>[]) {
      const k = this.str(pair.key, key);
      out[k] = this.str(pair.value, `${key}.${k}`);
    }
    return out;
  }

  /** The fields of a mapping, refusing unknown ones (yaml.v3 KnownFields). */
  fields(node: unknown, key: string, known: string[], type: string): Map<string, unknown> | undefined {
    const out = new Map<string, unknown>();
    if (!isMap(node)) {
      this.problem(key, `cannot unmarshal ${isSeq(node) ? '!!seq' : '!!str'} into ${type}`, node as YamlNode);
      return undefined;
    }
    for (const pair of node.items as Pair<unknown, unknown>[]) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!known.includes(k)) {
        this.problem(`${key}.${k}`, `field ${k} not found in type ${type}`, pair.key as YamlNode);
        continue;
      }
      out.set(k, pair.value ?? null);
    }
    return out;
  }

  seq(node: unknown, key: string): unknown[] {
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) return [];
    if (!isSeq(node)) {
      this.problem(key, `cannot unmarshal into a list`, node as YamlNode);
      return [];
    }
    return node.items;
  }
}

const GROUP_FIELDS = ['name', 'interval', 'query_offset', 'limit', 'rules', 'labels'];
const RULE_FIELDS = ['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'];

function checkLabels(d: Decoder, labels: Record<string, string>, key: string, node: unknown, ctx: Partial<RuleProblem>): void {
  for (const k of Object.keys(labels)) {
    if (!LABEL_NAME.test(k) || k === '__name__') d.problem(`${key}.${k}`, `invalid label name: ${k}`, node as YamlNode, ctx);
  }
}

function decodeRule(d: Decoder, node: unknown, key: string, ctx: Partial<RuleProblem>): RuleDefinition | undefined {
  const f = d.fields(node, key, RULE_FIELDS, 'rulefmt.RuleNode');
  if (!f) return undefined;
  const record = d.str(f.get('record'), `${key}.record`);
  const alert = d.str(f.get('alert'), `${key}.alert`);
  const expr = d.str(f.get('expr'), `${key}.expr`);
  const forMs = d.duration(f.get('for'), `${key}.for`) ?? 0;
  const keepFiringForMs = d.duration(f.get('keep_firing_for'), `${key}.keep_firing_for`) ?? 0;
  const labels = d.strMap(f.get('labels'), `${key}.labels`);
  const annotations = d.strMap(f.get('annotations'), `${key}.annotations`);
  const c = { ...ctx, ruleName: alert || record };
  const recNode = (f.get('record') ?? f.get('alert') ?? node) as YamlNode;
  if (record && alert) d.problem(`${key}.record`, "only one of 'record' and 'alert' must be set", recNode, c);
  if (!record && !alert) d.problem(`${key}.record`, "one of 'record' or 'alert' must be set", recNode, c);
  if (!expr) d.problem(`${key}.expr`, "field 'expr' must be set in rule", (f.get('expr') ?? node) as YamlNode, c);
  else {
    const err = checkPromQL(expr);
    if (err) d.problem(`${key}.expr`, `could not parse expression: ${err.line}:${err.column}: ${err.message}`, f.get('expr') as YamlNode, c);
  }
  if (record) {
    if (Object.keys(annotations).length > 0) d.problem(`${key}.annotations`, "invalid field 'annotations' in recording rule", recNode, c);
    if (forMs !== 0) d.problem(`${key}.for`, "invalid field 'for' in recording rule", recNode, c);
    if (keepFiringForMs !== 0) d.problem(`${key}.keep_firing_for`, "invalid field 'keep_firing_for' in recording rule", recNode, c);
    if (!METRIC_NAME.test(record)) d.problem(`${key}.record`, `invalid recording rule name: ${record}`, recNode, c);
  }
  checkLabels(d, labels, `${key}.labels`, f.get('labels'), c);
  for (const k of Object.keys(annotations)) {
    if (!LABEL_NAME.test(k)) d.problem(`${key}.annotations.${k}`, `invalid annotation name: ${k}`, f.get('annotations') as YamlNode, c);
  }
  if (alert) {
    for (const [what, map] of [['label', labels], ['annotation', annotations]] as const) {
      for (const [k, v] of Object.entries(map)) {
        const err = checkAlertTemplate(alert, v);
        if (err) d.problem(`${key}.${what}s.${k}`, `${what} "${k}": ${err}`, f.get(`${what}s`) as YamlNode, c);
      }
    }
  }
  return { kind: alert ? 'alert' : 'record', name: alert || record, expr, forMs, keepFiringForMs, labels, annotations };
}

/** Parses and validates one rule file's text. Throws RuleFileError listing every problem. */
export function parseRuleFile(text: string, file: string): RuleGroupDefinition[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const d = new Decoder(file, lc);
  for (const e of doc.errors) {
    const { line, col } = lc.linePos(e.pos[0]);
    d.problems.push({ file, key: '', line, column: col, message: `yaml: ${e.message.split('\n')[0]}` });
  }
  if (d.problems.length > 0) throw new RuleFileError(file, d.problems);
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return [];
  const top = d.fields(root, '', ['groups'], 'rulefmt.RuleGroups');
  const groups: RuleGroupDefinition[] = [];
  const seen = new Set<string>();
  d.seq(top?.get('groups'), 'groups').forEach((gnode, gi) => {
    const gkey = `groups[${gi}]`;
    const f = d.fields(gnode, gkey, GROUP_FIELDS, 'rulefmt.RuleGroup');
    if (!f) return;
    const name = d.str(f.get('name'), `${gkey}.name`);
    const gctx = { group: name, groupIndex: gi };
    if (name === '') d.problem(`${gkey}.name`, 'Groupname must not be empty', gnode as YamlNode, gctx);
    if (seen.has(name)) d.problem(`${gkey}.name`, `groupname: "${name}" is repeated in the same file`, gnode as YamlNode, gctx);
    seen.add(name);
    const intervalMs = d.duration(f.get('interval'), `${gkey}.interval`);
    const queryOffsetMs = d.duration(f.get('query_offset'), `${gkey}.query_offset`);
    const limit = d.int(f.get('limit'), `${gkey}.limit`);
    const labels = d.strMap(f.get('labels'), `${gkey}.labels`);
    checkLabels(d, labels, `${gkey}.labels`, f.get('labels'), gctx);
    const rules: RuleDefinition[] = [];
    d.seq(f.get('rules'), `${gkey}.rules`).forEach((rnode, ri) => {
      const r = decodeRule(d, rnode, `${gkey}.rules[${ri}]`, { ...gctx, rule: ri + 1 });
      if (r) rules.push(r);
    });
    groups.push({ file, name, intervalMs: intervalMs || undefined, limit, queryOffsetMs, labels, rules });
  });
  if (d.problems.length > 0) throw new RuleFileError(file, d.problems);
  return groups;
}

/** Expands a `*`/`?` glob in the file name part (Prometheus's rule_files allow globs there). */
async function expand(pattern: string): Promise<string[]> {
  const base = basename(pattern);
  if (!/[*?[]/.test(base)) return [pattern];
  const re = new RegExp('^' + base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
  const dir = dirname(pattern);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => re.test(n)).sort().map((n) => join(dir, n));
}

/** Loads every file (globs expanded); throws a RuleFileError (a ConfigError) for the first bad file. */
export async function loadRuleFiles(patterns: string[]): Promise<RuleGroupDefinition[]> {
  const groups: RuleGroupDefinition[] = [];
  for (const p of patterns) {
    for (const file of await expand(p)) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        throw new RuleFileError(file, [{ file, key: '', message: `cannot read rule file: ${(e as Error).message}` }]);
      }
      groups.push(...parseRuleFile(text, file));
    }
  }
  return groups;
}

