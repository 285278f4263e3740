// Label matchers as Alertmanager parses and applies them (pkg/labels and matcher/parse), so routes, inhibit rules,
// silences and API filters written for Alertmanager mean the same thing here.
//
// Parsing follows Alertmanager's "fallback" mode (AM ≥ 0.27 default): the classic pkg/labels parser decides; the
// UTF-8 parser (matcher/parse) is consulted only when the classic one rejects the input, which adds quoted label
// names (`"service.name"="api"`). Regexes are Go RE2 syntax anchored as `^(?:re)$`, translated to JS once.
import { AlertingError, ValidationError } from './errors.js';
import type { LabelSet } from './labels.js';
import type { Matcher as ApiMatcher } from './silence.js';

export type MatchType = '=' | '!=' | '=~' | '!~';

/** Regexes longer than this (UTF-8 bytes) are refused on API input: JS regexes backtrack, RE2's do not. */
export const MAX_REGEX_BYTES = 1024;

/** A matcher string could not be parsed. `position` is the 0-based character offset of the offending part. */
export class ParseError extends ValidationError {
  constructor(
    readonly input: string,
    readonly position: number,
    readonly reason: string,
    field = 'matchers',
  ) {
    super(field, `invalid matcher ${JSON.stringify(input)} at position ${position}: ${reason}`);
  }
}

/** A regex Alertmanager (Go RE2) would reject, or one we cannot run faithfully, or one over the size limit. */
export class RegexError extends AlertingError {
  constructor(
    readonly pattern: string,
    readonly reason: string,
  ) {
    super('ALERTING_REGEX_INVALID', `invalid regular expression ${JSON.stringify(pattern)}: ${reason}`);
  }
}

export class LabelMatcher {
  private readonly re: RegExp | undefined;

  /** Throws RegexError for an invalid regex (the regex is compiled here, once). */
  constructor(
    readonly type: MatchType,
    readonly name: string,
    readonly value: string,
    opts: { maxRegexBytes?: number } = {},
  ) {
    if (type === '=~' || type === '!~') this.re = compileAnchored(value, opts.maxRegexBytes ?? Infinity);
  }

  get isRegex(): boolean {
    return this.type === '=~' || this.type === '!~';
  }

  get isEqual(): boolean {
    return this.type === '=' || this.type === '=~';
  }

  matches(v: string): boolean {
    switch (this.type) {
      case '=':
        return v === this.value;
      case '!=':
        return v !== this.value;
      case '=~':
        return this.re!.test(v);
      case '!~':
        return !this.re!.test(v);
    }
  }

  /** As Alertmanager prints it (labels.Matcher.String): `name="value"`, or both Go-quoted when the name needs it. */
  toString(): string {
    if (/[\s{}!=~,\\"'`]/u.test(this.name)) return `${goQuote(this.name)}${this.type}${goQuote(this.value)}`;
    return `${this.name}${this.type}"${openMetricsEscape(this.value)}"`;
  }
}

/** All matchers match (Alertmanager: a missing label is the empty string). */
export function matches(matchers: readonly LabelMatcher[], labels: LabelSet): boolean {
  for (const m of matchers) if (!m.matches(labels[m.name] ?? '')) return false;
  return true;
}

/** `{a="b",c=~"d"}`, the form Alertmanager uses in route keys and logs. */
export function matchersToString(matchers: readonly LabelMatcher[]): string {
  return `{${matchers.map((m) => m.toString()).join(',')}}`;
}

/** Alertmanager's labels.Matchers sort order: name, then value, then type. Returns a sorted copy. */
export function sortMatchers(matchers: readonly LabelMatcher[]): LabelMatcher[] {
  const order: MatchType[] = ['=', '!=', '=~', '!~'];
  return [...matchers].sort((a, b) =>
    a.name !== b.name
      ? cmp(a.name, b.name)
      : a.value !== b.value
        ? cmp(a.value, b.value)
        : order.indexOf(a.type) - order.indexOf(b.type),
  );
}

// Go compares strings bytewise; for the BMP this is code-unit order, which is what < does.
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function toApiMatcher(m: LabelMatcher): ApiMatcher {
  return { name: m.name, value: m.value, isRegex: m.isRegex, isEqual: m.isEqual };
}

/** The v2 API shape to a matcher (`isEqual` absent means true, as in Alertmanager). Throws RegexError. */
export function fromApiMatcher(m: ApiMatcher, opts: { maxRegexBytes?: number } = {}): LabelMatcher {
  const eq = m.isEqual ?? true;
  const type: MatchType = m.isRegex ? (eq ? '=~' : '!~') : eq ? '=' : '!=';
  return new LabelMatcher(type, m.name, m.value, opts);
}

export interface ParseOptions {
  /** 'fallback' (default): classic parser, then the UTF-8 one; 'classic': AM ≤ 0.26 only; 'utf8': strict new parser. */
  mode?: 'fallback' | 'classic' | 'utf8';
  maxRegexBytes?: number;
  /** Field named in the ParseError (the API's 400 names it). */
  field?: string;
}

/** One or more matchers: `{a="b", c=~"d"}`, `a=b,c!=d`, `{}`. Throws ParseError. */
export function parseMatchers(input: string, opts: ParseOptions = {}): LabelMatcher[] {
  const mode = opts.mode ?? 'fallback';
  if (mode === 'utf8') return parseUtf8(input, opts);
  try {
    return parseClassic(input, opts);
  } catch (classicErr) {
    if (mode === 'classic' || !(classicErr instanceof ParseError)) throw classicErr;
    try {
      // Only the quoted-name form is taken from the UTF-8 parser: `invalid-name="x"` stays an error, as in amtool.
      return parseUtf8(input, opts, true);
    } catch {
      throw classicErr;
    }
  }
}

/** Exactly one matcher. Throws ParseError. */
export function parseMatcher(input: string, opts: ParseOptions = {}): LabelMatcher {
  const field = opts.field ?? 'matchers';
  if (input.startsWith('{') || input.endsWith('}')) throw new ParseError(input, 0, 'unexpected open or close brace', field);
  const ms = parseMatchers(input, opts);
  if (ms.length !== 1) throw new ParseError(input, 0, ms.length === 0 ? 'no matchers' : `expected 1 matcher, found ${ms.length}`, field);
  return ms[0]!;
}

// ---- classic parser (pkg/labels/parse.go) ----

// Go's \s is [\t\n\f\r ]; (?s).*? lets the value span lines.
const CLASSIC_RE = /^[\t\n\f\r ]*([a-zA-Z_:][a-zA-Z0-9_:]*)[\t\n\f\r ]*(=~|=|!=|!~)[\t\n\f\r ]*([\s\S]*?)[\t\n\f\r ]*$/;

function parseClassic(input: string, opts: ParseOptions): LabelMatcher[] {
  let s = input;
  let offset = 0;
  if (s.startsWith('{')) {
    s = s.slice(1);
    offset = 1;
  }
  if (s.endsWith('}')) s = s.slice(0, -1);
  // Split on commas outside double quotes; \" does not toggle quoting.
  const tokens: Array<{ text: string; at: number }> = [];
  let inside = false;
  let escaped = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === ',' && !inside) {
      tokens.push({ text: s.slice(start, i), at: offset + start });
      start = i + 1;
      continue;
    }
    if (c === '"') {
      if (!escaped) inside = !inside;
      else escaped = false;
    } else if (c === '\\') escaped = !escaped;
    else escaped = false;
  }
  const last = s.slice(start);
  if (last.trim() !== '') tokens.push({ text: last.trim(), at: offset + start + (last.length - last.trimStart().length) });
  return tokens.map((t) => parseClassicOne(t.text, input, t.at, opts));
}

function parseClassicOne(token: string, input: string, at: number, opts: ParseOptions): LabelMatcher {
  const field = opts.field ?? 'matchers';
  const m = CLASSIC_RE.exec(token);
  if (!m) throw new ParseError(input, at, `bad matcher format: ${token}`, field);
  const [, name, op, raw] = m as unknown as [string, string, MatchType, string];
  const valueAt = at + token.lastIndexOf(raw);
  let rawValue = raw;
  let expectTrailingQuote = false;
  if (rawValue.startsWith('"')) {
    rawValue = rawValue.slice(1);
    expectTrailingQuote = true;
  }
  let value = '';
  let escaped = false;
  const chars = Array.from(rawValue);
  for (let i = 0; i < chars.length; i++) {
    const r = chars[i]!;
    if (escaped) {
      escaped = false;
      if (r === 'n') value += '\n';
      else if (r === '"' || r === '\\') value += r;
      else value += `\\${r}`; // a spurious escape keeps its backslash
      continue;
    }
    if (r === '\\') {
      if (i < chars.length - 1) escaped = true;
      else value += '\\';
    } else if (r === '"') {
      if (!expectTrailingQuote || i < chars.length - 1)
        throw new ParseError(input, valueAt + i + (raw.startsWith('"') ? 1 : 0), `matcher value contains unescaped double quote: ${raw}`, field);
      expectTrailingQuote = false;
    } else value += r;
  }
  if (expectTrailingQuote) throw new ParseError(input, valueAt, `matcher value contains unescaped double quote: ${raw}`, field);
  return build(op, name, value, input, valueAt, opts);
}

function build(op: MatchType, name: string, value: string, input: string, at: number, opts: ParseOptions): LabelMatcher {
  try {
    return new LabelMatcher(op, name, value, { maxRegexBytes: opts.maxRegexBytes });
  } catch (e) {
    if (e instanceof RegexError) throw new ParseError(input, at, e.message, opts.field ?? 'matchers');
    throw e;
  }
}

// ---- UTF-8 parser (matcher/parse): quoted or unquoted names and values, Go string escapes ----

type TokKind = '{' | '}' | ',' | 'op' | 'quoted' | 'unquoted' | 'eof';
interface Tok {
  kind: TokKind;
  text: string;
  at: number;
}

const isReserved = (c: string): boolean => /[\s{}!=~,\\"'`]/u.test(c);

function lexUtf8(input: string, field: string): Tok[] {
  const toks: Tok[] = [];
  const cs = Array.from(input);
  let i = 0;
  while (i < cs.length) {
    const c = cs[i]!;
    if (c === '{' || c === '}' || c === ',') {
      toks.push({ kind: c, text: c, at: i++ });
    } else if (c === '=' || c === '!') {
      const n = cs[i + 1];
      if (c === '!' && n !== '=' && n !== '~') throw new ParseError(input, i, "expected one of '=~' after '!'", field);
      const two = n === '~' || (c === '!' && n === '=');
      toks.push({ kind: 'op', text: two ? c + n : c, at: i });
      i += two ? 2 : 1;
    } else if (c === '"') {
      let j = i + 1;
      let esc = false;
      for (; j < cs.length; j++) {
        if (esc) esc = false;
        else if (cs[j] === '\\') esc = true;
        else if (cs[j] === '"') break;
      }
      if (j >= cs.length) throw new ParseError(input, i, 'missing end "', field);
      toks.push({ kind: 'quoted', text: cs.slice(i, j + 1).join(''), at: i });
      i = j + 1;
    } else if (/\s/u.test(c)) {
      i++;
    } else if (!isReserved(c)) {
      let j = i;
      while (j < cs.length && !isReserved(cs[j]!)) j++;
      toks.push({ kind: 'unquoted', text: cs.slice(i, j).join(''), at: i });
      i = j;
    } else {
      throw new ParseError(input, i, `${c}: invalid input`, field);
    }
  }
  toks.push({ kind: 'eof', text: '', at: cs.length });
  return toks;
}

function parseUtf8(input: string, opts: ParseOptions, quotedNamesOnly = false): LabelMatcher[] {
  const field = opts.field ?? 'matchers';
  const toks = lexUtf8(input, field);
  let p = 0;
  const out: LabelMatcher[] = [];
  const fail = (t: Tok, why: string): never => {
    throw new ParseError(input, t.at, t.kind === 'eof' ? `unexpected end of input, ${why}` : `unexpected ${t.text}, ${why}`, field);
  };
  const text = (t: Tok): string => {
    if (t.kind === 'unquoted') return t.text;
    try {
      return goUnquote(t.text);
    } catch (e) {
      throw new ParseError(input, t.at, `${t.text}: ${(e as Error).message}`, field);
    }
  };
  const open = toks[p]!.kind === '{';
  if (open) p++;
  while (toks[p]!.kind === 'quoted' || toks[p]!.kind === 'unquoted') {
    const nameTok = toks[p++]!;
    if (quotedNamesOnly && nameTok.kind === 'unquoted' && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(nameTok.text))
      throw new ParseError(input, nameTok.at, `invalid label name ${JSON.stringify(nameTok.text)} (quote names that are not [a-zA-Z_:][a-zA-Z0-9_:]*)`, field);
    const opTok = toks[p]!;
    if (opTok.kind !== 'op') fail(opTok, "expected an operator such as '=', '!=', '=~' or '!~'");
    p++;
    const valTok = toks[p]!;
    if (valTok.kind !== 'quoted' && valTok.kind !== 'unquoted') fail(valTok, 'expected label value');
    p++;
    out.push(build(opTok.text as MatchType, text(nameTok), text(valTok), input, valTok.at, opts));
    const sep = toks[p]!;
    if (sep.kind === ',') {
      p++;
      continue;
    }
    if (sep.kind !== '}' && sep.kind !== 'eof') fail(sep, 'expected a comma or close brace');
    break;
  }
  const end = toks[p]!;
  if (open) {
    if (end.kind !== '}') fail(end, 'expected close brace');
    p++;
  } else if (end.kind === '}') throw new ParseError(input, end.at, 'expected opening brace', field);
  if (toks[p]!.kind !== 'eof') fail(toks[p]!, 'expected end of input');
  return out;
}

/** Go's strconv.Unquote for a double-quoted string. */
export function goUnquote(q: string): string {
  if (q.length < 2 || !q.startsWith('"') || !q.endsWith('"')) throw new Error('invalid syntax');
  const s = q.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' || c === '\n') throw new Error('invalid syntax');
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };
    if (e !== undefined && simple[e] !== undefined) {
      out += simple[e];
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen) {
      const h = s.slice(i + 1, i + 1 + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(h)) throw new Error('invalid syntax');
      const cp = parseInt(h, 16);
      if (e !== 'x' && (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) throw new Error('invalid syntax');
      out += String.fromCodePoint(cp);
      i += hexLen;
      continue;
    }
    if (e !== undefined && /[0-7]/.test(e)) {
      const o = s.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) throw new Error('invalid syntax');
      out += String.fromCharCode(parseInt(o, 8));
      i += 2;
      continue;
    }
    throw new Error('invalid syntax');
  }
  return out;
}

/** Go's strconv.Quote (printable Unicode kept, control characters escaped). */
const QUOTE_ESCAPES: Readonly<Record<string, string>> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\', '"': '\\"' };

export function goQuote(s: string): string {
  // printable ASCII without a quote or backslash (nearly every label value) is quoted as it is
  if (/^[ !#-[\]-~]*$/.test(s)) return `"${s}"`;
  let out = '"';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    const escaped = QUOTE_ESCAPES[c];
    if (escaped) out += escaped;
    else if (/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(c)) out += c;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** OpenMetrics escaping as labels.Matcher.String uses it: backslash, newline, double quote. */
function openMetricsEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

// ---- Go RE2 → JS regex ----

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const regexCache = new Map<string, RegExp>();

/** Compiles `^(?:re)$` as Alertmanager does. Throws RegexError for what Go would reject or we cannot run. */
export function compileAnchored(re: string, maxBytes = Infinity): RegExp {
  if (Buffer.byteLength(re, 'utf8') > maxBytes) throw new RegexError(re.slice(0, 64) + (re.length > 64 ? '…' : ''), `longer than ${maxBytes} bytes`);
  const cached = regexCache.get(re);
  if (cached) return cached;
  const { source, flags } = translateGoRegex(re);
  let compiled: RegExp | undefined;
  let lastErr: unknown;
  // With 'u', '.' and classes work on code points as Go does on runes; without it, JS accepts Go's lenient escapes (\-).
  for (const f of [`${flags}u`, flags]) {
    try {
      compiled = new RegExp(`^(?:${source})$`, f);
      break;
    } catch (e) {
      lastErr = e;
    }
  }
  if (!compiled) throw new RegexError(re, (lastErr as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, ''));
  if (regexCache.size > 5000) regexCache.clear();
  regexCache.set(re, compiled);
  return compiled;
}

/** Rewrites the Go-only syntax Alertmanager users write; rejects what RE2 rejects (lookaround, backreferences). */
export function translateGoRegex(re: string): { source: string; flags: string } {
  let flags = '';
  let src = re;
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    if (lead[1]!.includes('U')) throw new RegexError(re, 'the U (ungreedy) flag is not supported');
    flags = [...new Set(lead[1]!)].join('');
    src = src.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw new RegexError(re, 'trailing backslash at end of expression');
      if (!inClass && /[1-9]/.test(n)) throw new RegexError(re, `invalid escape sequence: \\${n} (backreferences are not supported by RE2)`);
      if (n === 'p' || n === 'P') {
        // Go: \pL, \p{Greek}; JS needs \p{L} and \p{Script=Greek}.
        const m = /^\{(\^?)([A-Za-z_]+)\}|^([A-Za-z])/.exec(src.slice(i + 2));
        if (!m) throw new RegexError(re, `invalid character class range: \\${n}`);
        const name = m[2] ?? m[3]!;
        const neg = m[1] ? (n === 'p' ? 'P' : 'p') : n;
        out += `\\${neg}{${/^[A-Z][a-z]?$/.test(name) && !/^(Han|Yi)$/.test(name) ? name : `Script=${name}`}}`;
        i += 1 + m[0].length;
        continue;
      }
      if (n === 'z') out += '$';
      else if (n === 'A') out += '^';
      else if (n === 'Q') {
        const end = src.indexOf('\\E', i + 2);
        const lit = src.slice(i + 2, end < 0 ? undefined : end);
        out += lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
        i = end < 0 ? src.length : end + 1;
        continue;
      } else out += c + n;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(src.slice(i));
        if (m && POSIX_CLASSES[m[2]!]) {
          if (m[1]) throw new RegexError(re, 'negated POSIX classes are not supported');
          out += POSIX_CLASSES[m[2]!];
          i += m[0].length - 1;
          continue;
        }
      }
      if (c === '[') {
        out += '\\[';
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') out += src[++i];
      if (src[i + 1] === ']') {
        out += '\\]'; // Go: a ']' first in a class is literal
        i++;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      const rest = src.slice(i + 2);
      if (/^(=|!|<=|<!)/.test(rest)) throw new RegexError(re, 'lookahead and lookbehind are not supported by RE2');
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (/^[imsU-]+[:)]/.test(rest)) throw new RegexError(re, 'flags are supported only at the start of the expression, e.g. (?i)foo');
    }
    out += c;
  }
  return { source: out, flags };
}
