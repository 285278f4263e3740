// A parser and evaluator for the subset of Go's text/template that Prometheus alert templates use:
// text, {{ pipeline }}, variables ($x := …, $x = …), fields (.Labels.x, $labels.x), literals, pipelines with
// functions, parenthesised pipelines, if/else if/else, range (slices, maps, else), with, comments and the
// {{- -}} trim markers. Parse errors (unknown function, undefined variable, unclosed action, missing {{end}})
// are raised at parse time as Go does, so `promtool check rules` and our loader refuse the same templates.
import { formatValue } from './go-format.js';
import { GoInt, GoMap, GoStruct, type GoValue, kindOf, truth, typeName } from './go-value.js';

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** A template function: `params` are 'string' (Go string) or 'any'; `variadic` takes any number of any. */
export interface TemplateFunc {
  params: ('string' | 'any')[];
  variadic?: boolean;
  fn: (...args: GoValue[]) => GoValue;
}
export type FuncMap = Record<string, TemplateFunc>;

// ---------- lexing ----------

type Tok =
  | { k: 'field'; v: string } // ".Foo"
  | { k: 'dot' }
  | { k: 'var'; v: string } // "$x" or "$"
  | { k: 'ident'; v: string }
  | { k: 'str'; v: string }
  | { k: 'num'; text: string }
  | { k: 'char'; v: number }
  | { k: 'pipe' }
  | { k: 'lparen' }
  | { k: 'rparen' }
  | { k: 'comma' }
  | { k: 'declare' } // :=
  | { k: 'assign' } // =
  | { k: 'space' };

interface RawItem {
  kind: 'text' | 'action';
  text: string;
  toks: Tok[];
  line: number;
}

const SPACE = /[ \t\r\n]/;

function lexAction(src: string, start: number, name: string, line: number): { toks: Tok[]; end: number; trimRight: boolean } {
  const toks: Tok[] = [];
  let i = start;
  const err = (m: string): never => {
    throw new TemplateError(`template: ${name}:${line}: ${m}`);
  };
  for (;;) {
    if (i >= src.length) err('unclosed action');
    // right delimiter, with optional trim marker " -}}"
    if (src.startsWith(' -}}', i) || src.startsWith('\t-}}', i) || src.startsWith('\n-}}', i) || src.startsWith('\r-}}', i)) {
      return { toks, end: i + 4, trimRight: true };
    }
    if (src.startsWith('}}', i)) return { toks, end: i + 2, trimRight: false };
    const c = src[i]!;
    if (SPACE.test(c)) {
      while (i < src.length && SPACE.test(src[i]!) && !src.startsWith(' -}}', i) && !src.startsWith('\n-}}', i)) {
        if (src[i] === '\n') err('unclosed action');
        i++;
      }
      if (src.startsWith(' -}}', i) || src.startsWith('\n-}}', i)) continue;
      toks.push({ k: 'space' });
      continue;
    }
    if (c === '|') { toks.push({ k: 'pipe' }); i++; continue; }
    if (c === '(') { toks.push({ k: 'lparen' }); i++; continue; }
    if (c === ')') { toks.push({ k: 'rparen' }); i++; continue; }
    if (c === ',') { toks.push({ k: 'comma' }); i++; continue; }
    if (src.startsWith(':=', i)) { toks.push({ k: 'declare' }); i += 2; continue; }
    if (c === '=') { toks.push({ k: 'assign' }); i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') j++;
        if (src[j] === '\n' || j >= src.length) err('unterminated quoted string');
        j++;
      }
      if (j >= src.length) err('unterminated quoted string');
      toks.push({ k: 'str', v: unquote(src.slice(i, j + 1), name, line) });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) err('unterminated raw quoted string');
      toks.push({ k: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === "'") {
      const m = /^'(\\.|[^\\'])'/u.exec(src.slice(i));
      if (!m) err('unterminated character constant');
      const inner = m![1]!;
      toks.push({ k: 'char', v: inner.startsWith('\\') ? unquote(`"${inner}"`, name, line).codePointAt(0)! : inner.codePointAt(0)! });
      i += m![0].length;
      continue;
    }
    const num = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?)i?/.exec(src.slice(i));
    if (num && (c !== '.' || /\d/.test(src[i + 1] ?? '')) && (/[\d.]/.test(c) || /\d|\./.test(src[i + 1] ?? ''))) {
      toks.push({ k: 'num', text: num[0] });
      i += num[0].length;
      continue;
    }
    if (c === '.') {
      const m = /^\.[\p{L}_][\p{L}\p{N}_]*/u.exec(src.slice(i));
      if (m) { toks.push({ k: 'field', v: m[0].slice(1) }); i += m[0].length; continue; }
      toks.push({ k: 'dot' });
      i++;
      continue;
    }
    if (c === '$') {
      const m = /^\$[\p{L}\p{N}_]*/u.exec(src.slice(i))!;
      toks.push({ k: 'var', v: m[0] });
      i += m[0].length;
      continue;
    }
    const id = /^[\p{L}_][\p{L}\p{N}_]*/u.exec(src.slice(i));
    if (id) { toks.push({ k: 'ident', v: id[0] }); i += id[0].length; continue; }
    err(`unexpected ${JSON.stringify(c)} in command`);
  }
}

function unquote(q: string, name: string, line: number): string {
  try {
    // Go's escapes are a superset of JSON's that matter here; \x and \' are mapped first.
    const body = q.slice(1, -1).replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\'/g, "'").replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b');
    return JSON.parse(`"${body}"`) as string;
  } catch {
    throw new TemplateError(`template: ${name}:${line}: invalid syntax in ${q}`);
  }
}

function lex(src: string, name: string): RawItem[] {
  const items: RawItem[] = [];
  let i = 0;
  let line = 1;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) items.push({ kind: 'text', text, toks: [], line });
      break;
    }
    let p = open + 2;
    const trimLeft = src[p] === '-' && SPACE.test(src[p + 1] ?? '');
    if (trimLeft) {
      text = text.replace(/[ \t\r\n]+$/, '');
      p += 2;
    }
    if (text) items.push({ kind: 'text', text, toks: [], line });
    line += (src.slice(i, open).match(/\n/g) ?? []).length;
    // comments: {{/* … */}} with optional trim markers
    const afterSpace = trimLeft ? p : p;
    if (src.startsWith('/*', afterSpace)) {
      const close = src.indexOf('*/', afterSpace + 2);
      if (close < 0) throw new TemplateError(`template: ${name}:${line}: unclosed comment`);
      let q = close + 2;
      let trimR = false;
      if (src.startsWith(' -}}', q)) { trimR = true; q += 4; }
      else if (src.startsWith('}}', q)) q += 2;
      else throw new TemplateError(`template: ${name}:${line}: comment ends before closing delimiter`);
      line += (src.slice(open, q).match(/\n/g) ?? []).length;
      i = q;
      trimNext = trimR;
      continue;
    }
    const { toks, end, trimRight } = lexAction(src, p, name, line);
    items.push({ kind: 'action', text: src.slice(open, end), toks, line });
    line += (src.slice(open, end).match(/\n/g) ?? []).length;
    i = end;
    trimNext = trimRight;
  }
  return items;
}

// ---------- parsing ----------

type Arg =
  | { t: 'field'; names: string[] }
  | { t: 'var'; name: string; names: string[] }
  | { t: 'dot' }
  | { t: 'ident'; name: string }
  | { t: 'lit'; v: GoValue; text: string }
  | { t: 'nil' }
  | { t: 'pipe'; pipe: Pipe; names: string[] };
interface Cmd { args: Arg[] }
interface Pipe { decl: string[]; assign: boolean; cmds: Cmd[]; text: string }
type Node =
  | { t: 'text'; s: string }
  | { t: 'action'; pipe: Pipe; line: number }
  | { t: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList: Node[] | undefined; line: number };

class Parser {
  private pos = 0;
  private vars: string[][] = [['$']];
  constructor(
    private readonly items: RawItem[],
    private readonly name: string,
    private readonly funcs: FuncMap,
  ) {}

  private fail(line: number, m: string): never {
    throw new TemplateError(`template: ${this.name}:${line}: ${m}`);
  }

  parseAll(): Node[] {
    const { list, end } = this.parseList();
    if (end) this.fail(end.line, `unexpected {{${keyword(end)}}}`);
    return list;
  }

  /** Parses until {{end}} / {{else…}} (returned) or EOF. */
  private parseList(): { list: Node[]; end?: RawItem } {
    const list: Node[] = [];
    while (this.pos < this.items.length) {
      const it = this.items[this.pos++]!;
      if (it.kind === 'text') {
        list.push({ t: 'text', s: it.text });
        continue;
      }
      const toks = it.toks.filter((x, i) => !(x.k === 'space' && i === 0));
      const first = toks[0];
      if (first?.k === 'ident') {
        const kw = first.v;
        if (kw === 'end' || kw === 'else') return { list, end: it };
        if (kw === 'if' || kw === 'with' || kw === 'range') {
          list.push(this.parseControl(kw, it, toks.slice(1)));
          continue;
        }
        if (['define', 'template', 'block', 'break', 'continue'].includes(kw)) this.fail(it.line, `{{${kw}}} is not supported in alert templates here`);
      }
      const pipe = this.parsePipe(toks, it.line, 'command', false);
      list.push({ t: 'action', pipe, line: it.line });
    }
    return { list };
  }

  private parseControl(kw: 'if' | 'with' | 'range', it: RawItem, toks: Tok[]): Node {
    this.vars.push([]);
    const pipe = this.parsePipe(toks, it.line, kw, kw === 'range');
    const body = this.parseList();
    if (!body.end) this.fail(it.line, 'unexpected EOF');
    let elseList: Node[] | undefined;
    const endToks = body.end.toks.filter((x) => x.k !== 'space');
    if (endToks[0]?.k === 'ident' && endToks[0].v === 'else') {
      const rest = body.end.toks.slice(body.end.toks.findIndex((x) => x.k === 'ident' && x.v === 'else') + 1);
      const restNs = rest.filter((x) => x.k !== 'space');
      if (restNs.length > 0) {
        // {{else if …}} / {{else with …}}: an else whose list is one nested control (consumes the same {{end}})
        const nk = restNs[0]!;
        if (nk.k !== 'ident' || (nk.v !== 'if' && nk.v !== 'with')) this.fail(body.end.line, 'unexpected tokens in {{else}}');
        const nested = this.parseControl(nk.v as 'if' | 'with', body.end, rest.slice(rest.indexOf(nk) + 1));
        elseList = [nested];
        this.vars.pop();
        return { t: kw, pipe, list: body.list, elseList, line: it.line };
      }
      const tail = this.parseList();
      if (!tail.end) this.fail(it.line, 'unexpected EOF');
      if (keyword(tail.end) !== 'end') this.fail(tail.end.line, `unexpected {{${keyword(tail.end)}}}`);
      elseList = tail.list;
    }
    this.vars.pop();
    return { t: kw, pipe, list: body.list, elseList, line: it.line };
  }

  private parsePipe(all: Tok[], line: number, context: string, rangeDecl: boolean): Pipe {
    let toks = all.filter((x, i) => !(x.k === 'space' && (i === 0 || i === all.length - 1)));
    const decl: string[] = [];
    let assign = false;
    // declarations: $x := / $x = / $i, $e :=
    const ns = toks.filter((x) => x.k !== 'space');
    const declIdx = ns.findIndex((x) => x.k === 'declare' || x.k === 'assign');
    if (declIdx > 0 && ns.slice(0, declIdx).every((x) => x.k === 'var' || x.k === 'comma')) {
      for (const t of ns.slice(0, declIdx)) if (t.k === 'var') decl.push(t.v);
      assign = ns[declIdx]!.k === 'assign';
      if (decl.length > (rangeDecl ? 2 : 1)) this.fail(line, 'too many declarations in command');
      const cut = toks.indexOf(ns[declIdx]!);
      toks = toks.slice(cut + 1).filter((x, i) => !(x.k === 'space' && i === 0));
      if (assign) for (const d of decl) this.useVar(d, line);
      else this.vars[this.vars.length - 1]!.push(...decl);
    }
    const cmds = this.parseCmds(toks, line, context);
    return { decl, assign, cmds, text: '' };
  }

  private parseCmds(toks: Tok[], line: number, context: string): Cmd[] {
    const cmds: Cmd[] = [];
    let cur: Arg[] = [];
    let i = 0;
    const push = () => {
      if (cur.length === 0) this.fail(line, `missing value for ${context}`);
      cmds.push({ args: cur });
      cur = [];
    };
    while (i < toks.length) {
      const t = toks[i]!;
      if (t.k === 'space') { i++; continue; }
      if (t.k === 'pipe') { push(); i++; continue; }
      const { arg, next } = this.parseOperand(toks, i, line);
      cur.push(arg);
      i = next;
    }
    if (cur.length === 0) this.fail(line, `missing value for ${context}`);
    push();
    for (const c of cmds.slice(1)) {
      const a0 = c.args[0]!;
      if (a0.t === 'lit' || a0.t === 'nil') this.fail(line, `non executable command in pipeline stage ${cmds.indexOf(c) + 1}`);
    }
    if (cmds[0]!.args[0]!.t === 'nil') this.fail(line, 'nil is not a command');
    return cmds;
  }

  private parseOperand(toks: Tok[], i: number, line: number): { arg: Arg; next: number } {
    const t = toks[i]!;
    let arg: Arg;
    let next = i + 1;
    switch (t.k) {
      case 'field': {
        const names = [t.v];
        while (toks[next]?.k === 'field') names.push((toks[next++] as { v: string }).v);
        return { arg: { t: 'field', names }, next };
      }
      case 'dot':
        arg = { t: 'dot' };
        break;
      case 'var': {
        this.useVar(t.v, line);
        const names: string[] = [];
        while (toks[next]?.k === 'field') names.push((toks[next++] as { v: string }).v);
        return { arg: { t: 'var', name: t.v, names }, next };
      }
      case 'ident':
        if (t.v === 'true' || t.v === 'false') { arg = { t: 'lit', v: t.v === 'true', text: t.v }; break; }
        if (t.v === 'nil') { arg = { t: 'nil' }; break; }
        if (!(t.v in this.funcs) && !BUILTINS.has(t.v)) this.fail(line, `function ${JSON.stringify(t.v)} not defined`);
        arg = { t: 'ident', name: t.v };
        break;
      case 'str':
        arg = { t: 'lit', v: t.v, text: JSON.stringify(t.v) };
        break;
      case 'char':
        arg = { t: 'lit', v: new GoInt(BigInt(t.v)), text: String(t.v) };
        break;
      case 'num':
        arg = { t: 'lit', v: parseNumber(t.text, line, this.name), text: t.text };
        break;
      case 'lparen': {
        let depth = 1;
        let j = next;
        for (; j < toks.length && depth > 0; j++) {
          if (toks[j]!.k === 'lparen') depth++;
          if (toks[j]!.k === 'rparen') depth--;
        }
        if (depth > 0) this.fail(line, 'unclosed left paren');
        const inner = toks.slice(next, j - 1);
        const pipe = this.parsePipe(inner, line, 'parenthesized pipeline', false);
        next = j;
        const names: string[] = [];
        while (toks[next]?.k === 'field') names.push((toks[next++] as { v: string }).v);
        return { arg: { t: 'pipe', pipe, names }, next };
      }
      case 'rparen':
        this.fail(line, 'unexpected right paren');
        break;
      default:
        this.fail(line, `unexpected ${JSON.stringify(tokText(t))} in operand`);
    }
    if (toks[next]?.k === 'field') this.fail(line, `unexpected . after term ${JSON.stringify(tokText(t))}`);
    return { arg, next };
  }

  private useVar(name: string, line: number): void {
    if (!this.vars.some((scope) => scope.includes(name))) this.fail(line, `undefined variable ${JSON.stringify(name)}`);
  }
}

function tokText(t: Tok): string {
  switch (t.k) {
    case 'comma':
      return ',';
    case 'declare':
      return ':=';
    case 'assign':
      return '=';
    case 'pipe':
      return '|';
    default:
      return 'v' in t ? String(t.v) : t.k;
  }
}

function keyword(it: RawItem): string {
  const t = it.toks.find((x) => x.k !== 'space');
  return t && t.k === 'ident' ? t.v : '';
}

function parseNumber(text: string, line: number, name: string): GoValue {
  const clean = text.replace(/_/g, '');
  if (clean.endsWith('i')) throw new TemplateError(`template: ${name}:${line}: complex constants are not supported`);
  if (/^[+-]?0[xX]/.test(clean) || /^[+-]?0[bB]/.test(clean) || /^[+-]?0[oO]/.test(clean)) {
    const neg = clean.startsWith('-');
    return new GoInt((neg ? -1n : 1n) * BigInt(clean.replace(/^[+-]/, '')));
  }
  if (/^[+-]?\d+$/.test(clean)) {
    // Go reads a leading 0 as octal
    const neg = clean.startsWith('-');
    const digits = clean.replace(/^[+-]/, '');
    const v = digits.length > 1 && digits.startsWith('0') ? BigInt('0o' + digits.slice(1)) : BigInt(digits);
    return new GoInt(neg ? -v : v);
  }
  const f = Number(clean);
  if (Number.isNaN(f)) throw new TemplateError(`template: ${name}:${line}: bad number syntax: ${JSON.stringify(text)}`);
  return f;
}

// ---------- execution ----------

const BUILTINS = new Set(['and', 'or', 'not', 'len', 'index', 'print', 'printf', 'println', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'html', 'js', 'urlquery', 'slice', 'call']);

class ExecError extends Error {}

type BasicKind = 'bool' | 'int' | 'uint' | 'float' | 'string' | 'invalid';
function basicKind(v: GoValue): BasicKind {
  const k = kindOf(v);
  return k === 'bool' || k === 'int' || k === 'uint' || k === 'float' || k === 'string' ? k : 'invalid';
}

function numeric(v: GoValue): number | bigint | string | boolean {
  if (v instanceof GoInt) return v.v;
  return v as number | string | boolean;
}

function eq(a: GoValue, ...bs: GoValue[]): boolean {
  const ka = basicKind(a);
  if (ka === 'invalid' && a !== null) throw new ExecError('error calling eq: non-comparable type');
  if (bs.length === 0) throw new ExecError('missing argument for comparison');
  for (const b of bs) {
    const kb = basicKind(b);
    let truthy: boolean;
    if (a === null || b === null) truthy = a === b;
    else if (ka !== kb) {
      if ((ka === 'int' && kb === 'uint') || (ka === 'uint' && kb === 'int')) truthy = numeric(a) === numeric(b);
      else throw new ExecError('error calling eq: incompatible types for comparison');
    } else truthy = numeric(a) === numeric(b);
    if (truthy) return true;
  }
  return false;
}

function lt(name: string, a: GoValue, b: GoValue): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === 'invalid' || kb === 'invalid' || ka === 'bool') throw new ExecError(`error calling ${name}: invalid type for comparison`);
  if (ka !== kb) {
    if ((ka === 'int' && kb === 'uint') || (ka === 'uint' && kb === 'int')) return (numeric(a) as bigint) < (numeric(b) as bigint);
    throw new ExecError(`error calling ${name}: incompatible types for comparison`);
  }
  return numeric(a) < numeric(b);
}

function goLen(v: GoValue): GoValue {
  if (typeof v === 'string') return new GoInt(BigInt(Buffer.byteLength(v)));
  if (Array.isArray(v)) return new GoInt(BigInt(v.length));
  if (v instanceof GoMap) return new GoInt(BigInt(v.entries.size));
  throw new ExecError(`error calling len: len of type ${typeName(v)}`);
}

function goIndex(v: GoValue, ...keys: GoValue[]): GoValue {
  let cur = v;
  for (const k of keys) {
    if (cur instanceof GoMap) {
      if (typeof k !== 'string') throw new ExecError(`error calling index: value has type ${typeName(k)}; should be string`);
      cur = cur.entries.has(k) ? cur.entries.get(k)! : cur.zero;
    } else if (Array.isArray(cur)) {
      if (!(k instanceof GoInt)) throw new ExecError(`error calling index: cannot index slice/array with type ${typeName(k)}`);
      const i = Number(k.v);
      if (i < 0 || i >= cur.length) throw new ExecError(`error calling index: index out of range: ${i}`);
      cur = cur[i]!;
    } else throw new ExecError(`error calling index: can't index item of type ${typeName(cur)}`);
  }
  return cur;
}

export interface Template {
  name: string;
  execute(data: GoValue): string;
}

interface State {
  vars: { name: string; value: GoValue }[];
  out: string[];
}

export function parseTemplate(name: string, src: string, funcs: FuncMap): Template {
  const nodes = new Parser(lex(src, name), name, funcs).parseAll();
  let curLine = 1;
  // the action being executed, named in error messages (its text is built only when one is raised)
  let curPipe: Pipe | undefined;

  const fail = (m: string): never => {
    throw new TemplateError(`template: ${name}:${curLine}: executing ${JSON.stringify(name)} at <${curPipe ? pipeText(curPipe) : ''}>: ${m}`);
  };

  const field = (recv: GoValue, f: string): GoValue => {
    if (recv instanceof GoMap) return recv.entries.has(f) ? recv.entries.get(f)! : recv.zero;
    if (recv instanceof GoStruct) {
      if (!(f in recv.fields)) fail(`can't evaluate field ${f} in type ${recv.typeName}`);
      return recv.fields[f]!;
    }
    if (recv === null) return fail(`nil pointer evaluating interface {}.${f}`);
    return fail(`can't evaluate field ${f} in type ${typeName(recv)}`);
  };
  const chain = (v: GoValue, names: string[]): GoValue => names.reduce(field, v);

  const lookupVar = (st: State, n: string): GoValue => {
    for (let i = st.vars.length - 1; i >= 0; i--) if (st.vars[i]!.name === n) return st.vars[i]!.value;
    return fail(`undefined variable: ${n}`);
  };

  const evalArg = (st: State, dot: GoValue, a: Arg): GoValue => {
    switch (a.t) {
      case 'dot':
        return dot;
      case 'field':
        return chain(dot, a.names);
      case 'var':
        return chain(lookupVar(st, a.name), a.names);
      case 'lit':
        return a.v;
      case 'nil':
        return null;
      case 'pipe':
        return chain(evalPipe(st, dot, a.pipe, true), a.names);
      case 'ident':
        return call(st, dot, a.name, [], undefined);
    }
  };

  const call = (st: State, dot: GoValue, fname: string, argNodes: Arg[], final: GoValue | undefined): GoValue => {
    const lazy = (i: number): GoValue => (i < argNodes.length ? evalArg(st, dot, argNodes[i]!) : final!);
    const n = argNodes.length + (final === undefined ? 0 : 1);
    if (fname === 'and' || fname === 'or') {
      if (n < 1) fail(`wrong number of args for ${fname}: want at least 1 got 0`);
      let v: GoValue = null;
      for (let i = 0; i < n; i++) {
        v = lazy(i);
        if (truth(v) === (fname === 'or')) return v;
      }
      return v;
    }
    const args: GoValue[] = [];
    for (let i = 0; i < n; i++) args.push(lazy(i));
    try {
      switch (fname) {
        case 'not':
          if (n !== 1) fail(`wrong number of args for not: want 1 got ${n}`);
          return !truth(args[0]!);
        case 'len':
          if (n !== 1) fail(`wrong number of args for len: want 1 got ${n}`);
          return goLen(args[0]!);
        case 'index':
          return goIndex(args[0]!, ...args.slice(1));
        case 'eq':
          return eq(args[0]!, ...args.slice(1));
        case 'ne':
          if (n !== 2) fail(`wrong number of args for ne: want 2 got ${n}`);
          return !eq(args[0]!, args[1]!);
        case 'lt':
        case 'le':
        case 'gt':
        case 'ge': {
          if (n !== 2) fail(`wrong number of args for ${fname}: want 2 got ${n}`);
          const [a, b] = args as [GoValue, GoValue];
          if (fname === 'lt') return lt(fname, a, b);
          if (fname === 'ge') return !lt(fname, a, b);
          if (fname === 'gt') return !lt(fname, a, b) && !eq(a, b);
          return lt(fname, a, b) || eq(a, b);
        }
        case 'html':
          return args.map(formatValue).join('').replace(/[&'<>"\0]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\0': '\uFFFD' })[c]!);
        case 'urlquery':
          return encodeURIComponent(args.map(formatValue).join('')).replace(/%20/g, '+');
        case 'js':
          return JSON.stringify(args.map(formatValue).join('')).slice(1, -1);
      }
      const f = funcs[fname];
      if (!f) return fail(`function ${JSON.stringify(fname)} not defined`);
      if (f.variadic ? n < f.params.length : n !== f.params.length) {
        fail(`wrong number of args for ${fname}: want ${f.variadic ? 'at least ' : ''}${f.params.length} got ${n}`);
      }
      f.params.forEach((p, i) => {
        if (p === 'string' && typeof args[i] !== 'string') fail(`wrong type for value; expected string; got ${typeName(args[i]!)}`);
      });
      return f.fn(...args);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      if (e instanceof ExecError) return fail(e.message);
      return fail(`error calling ${fname}: ${(e as Error).message}`);
    }
  };

  const evalCmd = (st: State, dot: GoValue, cmd: Cmd, final: GoValue | undefined): GoValue => {
    const [first, ...rest] = cmd.args as [Arg, ...Arg[]];
    if (first.t === 'ident') return call(st, dot, first.name, rest, final);
    if (rest.length > 0 || final !== undefined) fail(`can't give argument to non-function ${argText(first)}`);
    return evalArg(st, dot, first);
  };

  const evalPipe = (st: State, dot: GoValue, pipe: Pipe, nested = false): GoValue => {
    let v: GoValue | undefined;
    for (const c of pipe.cmds) v = evalCmd(st, dot, c, v);
    if (!nested && pipe.decl.length > 0) {
      if (pipe.assign) {
        for (let i = st.vars.length - 1; i >= 0; i--) if (st.vars[i]!.name === pipe.decl[0]) { st.vars[i]!.value = v!; break; }
      } else st.vars.push({ name: pipe.decl[0]!, value: v! });
    }
    return v!;
  };

  const walk = (st: State, dot: GoValue, list: Node[]): void => {
    for (const n of list) {
      if (n.t === 'text') {
        st.out.push(n.s);
        continue;
      }
      curLine = n.line;
      if (n.t === 'action') {
        curPipe = n.pipe;
        const v = evalPipe(st, dot, n.pipe);
        if (n.pipe.decl.length === 0) st.out.push(formatValue(v));
        continue;
      }
      const mark = st.vars.length;
      curPipe = n.pipe;
      if (n.t === 'range') {
        const v = evalCmdsOnly(st, dot, n.pipe);
        const entries: [GoValue, GoValue][] = Array.isArray(v)
          ? v.map((e, i) => [new GoInt(BigInt(i)), e])
          : v instanceof GoMap
            ? [...v.entries.keys()].sort().map((k) => [k, v.entries.get(k)!])
            : v === null
              ? []
              : fail(`range can't iterate over ${formatValue(v)}`);
        if (entries.length === 0) {
          if (n.elseList) walk(st, dot, n.elseList);
        }
        for (const [k, e] of entries) {
          const m2 = st.vars.length;
          if (n.pipe.decl.length === 1) st.vars.push({ name: n.pipe.decl[0]!, value: e });
          if (n.pipe.decl.length === 2) st.vars.push({ name: n.pipe.decl[0]!, value: k }, { name: n.pipe.decl[1]!, value: e });
          walk(st, e, n.list);
          st.vars.length = m2;
        }
      } else {
        const v = evalPipe(st, dot, n.pipe);
        if (truth(v)) walk(st, n.t === 'with' ? v : dot, n.list);
        else if (n.elseList) walk(st, dot, n.elseList);
      }
      st.vars.length = mark;
    }
  };
  const evalCmdsOnly = (st: State, dot: GoValue, pipe: Pipe): GoValue => evalPipe(st, dot, { ...pipe, decl: [] });

  return {
    name,
    execute(data: GoValue): string {
      const st: State = { vars: [{ name: '$', value: data }], out: [] };
      walk(st, data, nodes);
      return st.out.join('');
    },
  };
}

function pipeText(p: Pipe): string {
  return p.cmds.map((c) => c.args.map(argText).join(' ')).join(' | ');
}

function argText(a: Arg): string {
  switch (a.t) {
    case 'dot':
      return '.';
    case 'field':
      return '.' + a.names.join('.');
    case 'var':
      return a.name + a.names.map((n) => '.' + n).join('');
    case 'lit':
      return a.text;
    case 'nil':
      return 'nil';
    case 'ident':
      return a.name;
    case 'pipe':
      return '(' + a.pipe.cmds.map((c) => c.args.map(argText).join(' ')).join(' | ') + ')' + a.names.map((n) => '.' + n).join('');
  }
}
