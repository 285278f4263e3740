// Which rules of a group may be evaluated side by side, as Prometheus's concurrent rule evaluation decides it
// (rules/group.go buildDependencyMap, rules/manager.go SplitGroupIntoBatches). A rule depends on an earlier
// rule of its group when one of its selectors can match that rule's output: a recording rule's `record`
// name, or an alerting rule's ALERTS / ALERTS_FOR_STATE series (matched by alertname when the selector has
// one). A selector without a metric-name matcher ({job="x"}) could read any rule's output, so such a group is
// "indeterminate" and evaluated strictly in order, as is a group whose expressions cannot be analysed.
import { parser } from '@prometheus-io/lezer-promql';
import { goUnquote, LabelMatcher, type MatchType } from '../model/matchers.js';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

export interface RuleRef {
  kind: 'alert' | 'record';
  /** The recording rule's `record` or the alerting rule's `alert`. */
  name: string;
  expr: string;
}

/** Rule index → indexes of the later rules that read its output. */
export type DependencyMap = Map<number, number[]>;

const ALERTS = 'ALERTS';
const ALERTS_FOR_STATE = 'ALERTS_FOR_STATE';

/** A PromQL string literal's value ("…" and '…' with Go escapes, `…` raw). */
function stringValue(lit: string): string {
  if (lit.startsWith('`')) return lit.slice(1, -1);
  if (lit.startsWith("'")) {
    // the same escapes as a double-quoted string, with \' and a bare " swapped for their "…" spelling
    const inner = lit.slice(1, -1).replace(/\\(.)|"/gs, (m: string, esc?: string) => (esc === undefined ? '\\"' : esc === "'" ? "'" : m));
    return goUnquote(`"${inner}"`);
  }
  return goUnquote(lit);
}

interface Selector {
  /** The metric-name matcher; undefined for a selector like {job="x"}. */
  name?: LabelMatcher;
  alertname?: LabelMatcher;
}

function selectorOf(node: SyntaxNode, expr: string): Selector {
  const text = (n: SyntaxNode): string => expr.slice(n.from, n.to);
  const out: Selector = {};
  const id = node.getChild('Identifier');
  if (id) out.name = new LabelMatcher('=', '__name__', text(id));
  const list = node.getChild('LabelMatchers');
  for (let m = list?.firstChild; m; m = m.nextSibling) {
    const label = m.getChild('LabelName');
    const op = m.getChild('MatchOp');
    const value = m.getChild('StringLiteral');
    if (!label || !op || !value) continue;
    const name = text(label);
    if (name !== '__name__' && name !== 'alertname') continue;
    const matcher = new LabelMatcher(text(op) as MatchType, name, stringValue(text(value)));
    if (name === '__name__') out.name ??= matcher;
    else out.alertname ??= matcher;
  }
  return out;
}

/** Every vector selector of `expr`; undefined when the expression does not parse. */
function selectorsOf(expr: string): Selector[] | undefined {
  const selectors: Selector[] = [];
  let broken = false;
  parser.parse(expr).iterate({
    enter(n) {
      if (n.type.isError) broken = true;
      if (n.name !== 'VectorSelector') return undefined;
      selectors.push(selectorOf(n.node, expr));
      return false;
    },
  });
  return broken ? undefined : selectors;
}

/**
 * The dependencies between a group's rules, or undefined when they cannot be known (a selector without a
 * metric name, an expression that does not parse, a matcher that does not compile): then every rule runs in order.
 */
export function buildDependencyMap(rules: readonly RuleRef[]): DependencyMap | undefined {
  const deps: DependencyMap = new Map();
  if (rules.length <= 1) return deps;
  try {
    for (const [i, rule] of rules.entries()) {
      const selectors = selectorsOf(rule.expr);
      if (!selectors) return undefined;
      for (const s of selectors) {
        if (!s.name) return undefined;
        const readsAlerts = s.name.matches(ALERTS) || s.name.matches(ALERTS_FOR_STATE);
        // Only earlier rules are dependencies: a group is evaluated in order, so a rule reading a later
        // rule's output sees the previous evaluation's either way.
        for (let j = 0; j < i; j++) {
          const other = rules[j]!;
          const reads = s.name.matches(other.name) || (readsAlerts && other.kind === 'alert' && (!s.alertname || s.alertname.matches(other.name)));
          if (reads && !deps.get(j)?.includes(i)) deps.set(j, [...(deps.get(j) ?? []), i]);
        }
      }
    }
  } catch {
    // a matcher Prometheus accepted but we cannot compile: be safe
    return undefined;
  }
  return deps;
}

/**
 * The order of evaluation as batches of rule indexes; the rules of one batch may run side by side, a batch
 * starts when the previous one (and its writes) finished. As SplitGroupIntoBatches: first every rule without
 * dependencies, then each rule with both dependencies and dependents on its own, in group order, then every
 * rule that only has dependencies. Unknown dependencies: one rule per batch, in order.
 */
export function evaluationBatches(rules: readonly RuleRef[], deps: DependencyMap | undefined = buildDependencyMap(rules)): number[][] {
  if (!deps) return rules.map((_, i) => [i]);
  const hasDependencies = new Set([...deps.values()].flat());
  const first: number[] = [];
  const middle: number[][] = [];
  const last: number[] = [];
  for (let i = 0; i < rules.length; i++) {
    if (!hasDependencies.has(i)) first.push(i);
    else if ((deps.get(i)?.length ?? 0) > 0) middle.push([i]);
    else last.push(i);
  }
  return [...(first.length ? [first] : []), ...middle, ...(last.length ? [last] : [])];
}
