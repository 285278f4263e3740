// PromQL checking for rule files: the Prometheus UI's own grammar (@prometheus-io/lezer-promql) finds syntax
// errors; a small type pass on its tree adds what Prometheus's parser also refuses and promtool reports
// (rate(foo) without a range, unknown functions, strings in arithmetic, scalar comparisons without bool,
// selectors without a non-empty matcher, durations without units). The function table is Prometheus 2.42's,
// the version this project runs: newer functions would fail at query time, so they are refused at load.
import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

type VT = 'vector' | 'matrix' | 'scalar' | 'string';

/** [argument types, return type]; `...` repeats the last type, `?` makes the rest optional. */
const V: VT = 'vector';
const M: VT = 'matrix';
const S: VT = 'scalar';
const STR: VT = 'string';
interface Fn { args: VT[]; optional?: number; variadic?: boolean; ret: VT }
const fn = (args: VT[], ret: VT, extra: Partial<Fn> = {}): Fn => ({ args, ret, ...extra });
const overTime = fn([M], V);
const math1 = fn([V], V);
const dateFn = fn([V], V, { optional: 1 });

const FUNCTIONS: Record<string, Fn> = {
  abs: math1, absent: math1, absent_over_time: overTime, acos: math1, acosh: math1, asin: math1, asinh: math1, atan: math1,
  atanh: math1, avg_over_time: overTime, ceil: math1, changes: overTime, clamp: fn([V, S, S], V), clamp_max: fn([V, S], V),
  clamp_min: fn([V, S], V), cos: math1, cosh: math1, count_over_time: overTime, days_in_month: dateFn, day_of_month: dateFn,
  day_of_week: dateFn, day_of_year: dateFn, deg: math1, delta: overTime, deriv: overTime, exp: math1, floor: math1,
  histogram_count: math1, histogram_sum: math1, histogram_fraction: fn([S, S, V], V), histogram_quantile: fn([S, V], V),
  holt_winters: fn([M, S, S], V), hour: dateFn, idelta: overTime, increase: overTime, irate: overTime,
  label_replace: fn([V, STR, STR, STR, STR], V), label_join: fn([V, STR, STR, STR], V, { variadic: true }),
  last_over_time: overTime, ln: math1, log10: math1, log2: math1, max_over_time: overTime, min_over_time: overTime,
  minute: dateFn, month: dateFn, pi: fn([], S), predict_linear: fn([M, S], V), present_over_time: overTime,
  quantile_over_time: fn([S, M], V), rad: math1, rate: overTime, resets: overTime, round: fn([V, S], V, { optional: 1 }),
  scalar: fn([V], S), sgn: math1, sin: math1, sinh: math1, sort: math1, sort_desc: math1, sqrt: math1,
  stddev_over_time: overTime, stdvar_over_time: overTime, sum_over_time: overTime, tan: math1, tanh: math1,
  time: fn([], S), timestamp: math1, vector: fn([S], V), year: dateFn,
};
const AGGREGATIONS: Record<string, VT | null> = {
  sum: null, avg: null, min: null, max: null, count: null, stddev: null, stdvar: null, group: null,
  topk: S, bottomk: S, quantile: S, count_values: STR,
};
const COMPARISONS = new Set(['Eql', 'Neq', 'Gtr', 'Lss', 'Gte', 'Lte']);
const SET_OPS = new Set(['And', 'Or', 'Unless']);
const DURATION = /^(\d+(y|w|d|h|m|s|ms))+$/;
const NUMBER = /^([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|[+-]?(inf|nan))$/i;

export interface PromQLError {
  /** 1-based line and column in the expression. */
  line: number;
  column: number;
  message: string;
}

class CheckError extends Error {
  constructor(
    readonly pos: number,
    message: string,
  ) {
    super(message);
  }
}

function children(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

function typeOf(n: SyntaxNode, src: string): VT {
  const text = (x: SyntaxNode) => src.slice(x.from, x.to);
  const kids = children(n);
  switch (n.name) {
    case 'PromQL':
    case 'ParenExpr':
      return typeOf(kids[0]!, src);
    case 'NumberDurationLiteral':
      if (!NUMBER.test(text(n))) throw new CheckError(n.from, `bad number or duration syntax: "${text(n)}"`);
      return S;
    case 'StringLiteral':
      return STR;
    case 'VectorSelector': {
      const hasName = kids.some((k) => k.name === 'Identifier');
      const matchers = kids.find((k) => k.name === 'LabelMatchers');
      if (matchers && children(matchers).some((k) => k.name === 'QuotedLabelName' || k.name === 'QuotedLabelMatcher')) {
        throw new CheckError(matchers.from, 'quoted label names are not supported by Prometheus 2.42');
      }
      const nonEmpty = matchers
        ? children(matchers).some((m) => {
            const op = m.getChild('MatchOp');
            const val = m.getChild('StringLiteral');
            if (!op || !val) return false;
            const v = JSON.parse(text(val).replace(/^'(.*)'$/s, '"$1"').replace(/^`(.*)`$/s, (_x, b: string) => JSON.stringify(b))) as string;
            const o = text(op);
            if (o === '=') return v !== '';
            if (o === '!=') return v === '';
            if (o === '=~') return !new RegExp(`^(?:${v})$`).test('');
            return new RegExp(`^(?:${v})$`).test('');
          })
        : false;
      if (!hasName && !nonEmpty) throw new CheckError(n.from, 'vector selector must contain at least one non-empty matcher');
      return V;
    }
    case 'MatrixSelector':
    case 'SubqueryExpr': {
      const inner = typeOf(kids[0]!, src);
      if (n.name === 'MatrixSelector' && kids[0]!.name !== 'VectorSelector') throw new CheckError(n.from, 'ranges only allowed for vector selectors');
      if (n.name === 'SubqueryExpr' && inner !== V) throw new CheckError(n.from, `subquery is only allowed on instant vector, got ${inner}`);
      for (const d of kids.filter((k) => k.name === 'DurationExpr')) checkDuration(d, src);
      return M;
    }
    case 'OffsetExpr':
    case 'StepInvariantExpr': {
      for (const d of kids.filter((k) => k.name === 'OffsetDurationExpr')) checkDuration(d, src);
      const t = typeOf(kids[0]!, src);
      if (t !== V && t !== M) throw new CheckError(n.from, `${n.name === 'OffsetExpr' ? 'offset' : '@ modifier'} must be preceded by an instant vector selector or range vector selector or a subquery`);
      return t;
    }
    case 'UnaryExpr': {
      const t = typeOf(kids[kids.length - 1]!, src);
      if (t !== V && t !== S) throw new CheckError(n.from, `unary expression only allowed on expressions of type scalar or instant vector, got "${t}"`);
      return t;
    }
    case 'FunctionCall': {
      const name = text(kids[0]!);
      const f = FUNCTIONS[name];
      if (!f) throw new CheckError(n.from, `unknown function with name "${name}"`);
      const args = children(kids[1]!);
      checkArgs(name, f, args, src, n.from);
      return f.ret;
    }
    case 'AggregateExpr': {
      const op = text(kids[0]!).toLowerCase();
      if (!(op in AGGREGATIONS)) throw new CheckError(n.from, `unknown aggregation "${op}"`);
      const param = AGGREGATIONS[op];
      const body = kids.find((k) => k.name === 'FunctionCallBody')!;
      const args = children(body);
      const want = param ? [param, V] : [V];
      if (args.length !== want.length) throw new CheckError(n.from, `wrong number of arguments for aggregate expression provided, expected ${want.length}, got ${args.length}`);
      args.forEach((a, i) => expect(typeOf(a, src), want[i]!, `aggregation "${op}"`, a.from));
      return V;
    }
    case 'BinaryExpr': {
      const [lhs, opNode] = kids as [SyntaxNode, SyntaxNode];
      const rhs = kids[kids.length - 1]!;
      const lt = typeOf(lhs, src);
      const rt = typeOf(rhs, src);
      for (const t of [lt, rt]) {
        if (t !== V && t !== S) throw new CheckError(n.from, 'binary expression must contain only scalar and instant vector types');
      }
      const hasBool = kids.some((k) => k.name === 'BoolModifier');
      if (COMPARISONS.has(opNode.name) && lt === S && rt === S && !hasBool) throw new CheckError(n.from, 'comparisons between scalars must use BOOL modifier');
      if (SET_OPS.has(opNode.name) && (lt !== V || rt !== V)) throw new CheckError(n.from, `set operator "${text(opNode)}" not allowed in binary scalar expression`);
      if (hasBool && !COMPARISONS.has(opNode.name)) throw new CheckError(n.from, 'bool modifier can only be used on comparison operators');
      if (kids.some((k) => k.name === 'MatchingModifierClause') && (lt !== V || rt !== V)) throw new CheckError(n.from, 'vector matching only allowed between instant vectors');
      return lt === S && rt === S ? S : V;
    }
    default:
      throw new CheckError(n.from, `unsupported expression ${n.name}`);
  }
}

function checkDuration(d: SyntaxNode, src: string): void {
  const kids = children(d);
  if (kids.length !== 1 || kids[0]!.name !== 'NumberDurationLiteralInDurationContext' || !DURATION.test(src.slice(kids[0]!.from, kids[0]!.to))) {
    throw new CheckError(d.from, `bad duration syntax: "${src.slice(d.from, d.to)}"`);
  }
}

function expect(got: VT, want: VT, what: string, pos: number): void {
  if (got !== want) throw new CheckError(pos, `expected type ${typeLabel(want)} in ${what}, got ${typeLabel(got)}`);
}

function typeLabel(t: VT): string {
  return t === V ? 'instant vector' : t === M ? 'range vector' : t;
}

function checkArgs(name: string, f: Fn, args: SyntaxNode[], src: string, pos: number): void {
  const min = f.args.length - (f.optional ?? 0);
  const max = f.variadic ? Infinity : f.args.length;
  if (args.length < min || args.length > max) {
    throw new CheckError(pos, `expected ${min === max ? min : `at least ${min}`} argument(s) in call to "${name}", got ${args.length}`);
  }
  args.forEach((a, i) => expect(typeOf(a, src), f.args[Math.min(i, f.args.length - 1)]!, `call to function "${name}"`, a.from));
}

function lineCol(src: string, pos: number): { line: number; column: number } {
  const before = src.slice(0, pos).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** The first problem in `expr`, or undefined when Prometheus 2.42 would accept it. */
export function checkPromQL(expr: string): PromQLError | undefined {
  const tree = parser.parse(expr);
  let errPos = -1;
  tree.iterate({
    enter(n) {
      if (errPos >= 0) return false;
      if (n.type.isError) errPos = n.from;
      return undefined;
    },
  });
  if (errPos >= 0) {
    const at = errPos >= expr.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(expr.slice(errPos, errPos + 10))}`;
    return { ...lineCol(expr, errPos), message: `parse error: ${at}` };
  }
  try {
    typeOf(tree.topNode, expr);
    return undefined;
  } catch (e) {
    if (e instanceof CheckError) return { ...lineCol(expr, e.pos), message: `parse error: ${e.message}` };
    throw e;
  }
}
