// Which series hold the exemplars (trace ids) behind an alert: the `lantern_exemplar_query` annotation
// when the rule author wrote one, else the first histogram/counter selector of the alert's expression
// (from its generatorURL's g0.expr), narrowed to the alert's own series by its labels.
import { parser } from '@prometheus-io/lezer-promql';
import type { Alert } from '../model/alert.js';
import type { LabelSet } from '../model/labels.js';

/** @lezer/common's SyntaxNode, named through the parser so no undeclared package is imported. */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export const EXEMPLAR_QUERY_ANNOTATION = 'lantern_exemplar_query';

/** Metric name suffixes that carry exemplars: histogram buckets first, then counters. */
const SUFFIX_PREFERENCE = ['_bucket', '_count', '_total'];

/**
 * Series labels that survive an expression without aggregation and are safe to match on: rule labels
 * (severity, team) also sit on the alert but not on the series, so only these well-known ones are used.
 */
const SERIES_LABELS = ['service', 'service_name', 'job', 'instance', 'namespace', 'route', 'http_route', 'method'];

export interface ExemplarQuery {
  /** The query sent to /api/v1/query_exemplars. */
  query: string;
  /** The same selector without the alert's label matchers (tried when the narrowed one finds nothing). */
  broad?: string;
}

/** The expression behind an alert: Prometheus puts it in the generatorURL as `g0.expr`. */
export function exprFromGeneratorUrl(url: string): string | undefined {
  // most alerts posted by other clients have no generatorURL: no URL to parse (and no exception to throw)
  if (!url.includes('g0.expr=')) return undefined;
  try {
    return new URL(url).searchParams.get('g0.expr') ?? undefined;
  } catch {
    return undefined;
  }
}

interface Selector {
  name: string;
  /** The matchers as written, without braces. */
  matchers: string;
  matchedNames: Set<string>;
}

function selectorOf(node: SyntaxNode, expr: string): Selector | undefined {
  const id = node.getChild('Identifier');
  if (!id) return undefined;
  const name = expr.slice(id.from, id.to);
  const lm = node.getChild('LabelMatchers');
  const matchers = lm ? expr.slice(lm.from + 1, lm.to - 1).trim() : '';
  const matchedNames = new Set<string>();
  if (lm) {
    for (const m of [...lm.getChildren('UnquotedLabelMatcher'), ...lm.getChildren('LabelMatcher')]) {
      const ln = m.getChild('LabelName');
      if (ln) matchedNames.add(expr.slice(ln.from, ln.to));
    }
  }
  return { name, matchers, matchedNames };
}

/** Selectors, `by (...)` label names, and whether the expression aggregates at all. */
function analyse(expr: string): { selectors: Selector[]; byLabels: Set<string>; aggregates: boolean } | undefined {
  const tree = parser.parse(expr);
  let broken = false;
  const selectors: Selector[] = [];
  const byLabels = new Set<string>();
  let aggregates = false;
  tree.iterate({
    enter(n) {
      if (n.type.isError) broken = true;
      if (n.name === 'VectorSelector') {
        const s = selectorOf(n.node, expr);
        if (s) selectors.push(s);
        return false;
      }
      if (n.name === 'AggregateExpr') aggregates = true;
      if (n.name === 'AggregateModifier' && n.node.getChild('By')) {
        for (const ln of n.node.getChild('GroupingLabels')?.getChildren('LabelName') ?? []) byLabels.add(expr.slice(ln.from, ln.to));
      }
      return undefined;
    },
  });
  return broken ? undefined : { selectors, byLabels, aggregates };
}

/** PromQL string literal (Go escapes; JSON's are a subset Prometheus accepts). */
const quote = (v: string): string => JSON.stringify(v);

function withMatchers(s: Selector, extra: LabelSet): string {
  const parts = s.matchers ? [s.matchers] : [];
  for (const k of Object.keys(extra).sort()) parts.push(`${k}=${quote(extra[k]!)}`);
  return parts.length ? `${s.name}{${parts.join(', ')}}` : s.name;
}

/** The exemplar query for an expression evaluated into an alert with `labels`. */
export function exemplarQueryForExpr(expr: string, labels: LabelSet): ExemplarQuery | undefined {
  const a = analyse(expr);
  if (!a) return undefined;
  let chosen: Selector | undefined;
  for (const suffix of SUFFIX_PREFERENCE) {
    chosen = a.selectors.find((s) => s.name.endsWith(suffix));
    if (chosen) break;
  }
  if (!chosen) return undefined;
  const candidates = a.aggregates ? [...a.byLabels] : SERIES_LABELS;
  const extra: LabelSet = {};
  for (const k of candidates) {
    if (k === 'le' || chosen.matchedNames.has(k)) continue;
    const v = labels[k];
    if (v) extra[k] = v;
  }
  const query = withMatchers(chosen, extra);
  const broad = withMatchers(chosen, {});
  return { query, broad: broad !== query ? broad : undefined };
}

export function exemplarQueryFor(alert: Pick<Alert, 'annotations' | 'labels' | 'generatorURL'>): ExemplarQuery | undefined {
  const explicit = alert.annotations[EXEMPLAR_QUERY_ANNOTATION]?.trim();
  if (explicit) return { query: explicit };
  const expr = exprFromGeneratorUrl(alert.generatorURL);
  return expr ? exemplarQueryForExpr(expr, alert.labels) : undefined;
}
