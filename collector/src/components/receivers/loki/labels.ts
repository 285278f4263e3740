// Parses a Loki stream selector with only `=` matchers — `{app="api", env="prod"}` — the labels string
// of the protobuf push format (what Loki's syntax.ParseLabels accepts for a push).
import { PushDecodeError, type LabelPairs } from './stream.js';

export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  peek(): string | undefined {
    return this.text[this.pos];
  }
  expect(ch: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }
  fail(why: string): never {
    throw new PushDecodeError(`couldn't parse labels: ${why} at position ${this.pos} of ${JSON.stringify(this.text.slice(0, 200))}`);
  }
}

function parseName(c: Cursor): string {
  c.skipSpace();
  const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(c.text.slice(c.pos, c.pos + 4096));
  if (!m) c.fail('expected a label name');
  c.pos += m[0].length;
  return m[0];
}

/** A Go string literal: "…" with escapes, or `…` raw. */
function parseValue(c: Cursor): string {
  c.skipSpace();
  const quote = c.peek();
  if (quote === '`') {
    const end = c.text.indexOf('`', c.pos + 1);
    if (end < 0) c.fail('unterminated raw string');
    const v = c.text.slice(c.pos + 1, end);
    c.pos = end + 1;
    return v;
  }
  if (quote !== '"') c.fail('expected a quoted label value');
  c.pos++;
  let out = '';
  for (;;) {
    const ch = c.text[c.pos++];
    if (ch === undefined) c.fail('unterminated string');
    if (ch === '"') return out;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    out += parseEscape(c);
  }
}

function parseEscape(c: Cursor): string {
  const e = c.text[c.pos++];
  if (e !== undefined && e in ESCAPES) return ESCAPES[e]!;
  const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
  if (hexLen === 0) c.fail(`invalid escape \\${e ?? ''}`);
  const hex = c.text.slice(c.pos, c.pos + hexLen);
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexLen) c.fail('invalid hex escape');
  c.pos += hexLen;
  const code = parseInt(hex, 16);
  if (code > 0x10ffff) c.fail('invalid code point');
  return String.fromCodePoint(code);
}

/** `{a="b", c="d"}` → [['a','b'], ['c','d']], in the order written. Throws PushDecodeError naming the problem. */
export function parseLabels(text: string): LabelPairs {
  const c = new Cursor(text);
  const out: LabelPairs = [];
  c.expect('{');
  c.skipSpace();
  if (c.peek() === '}') {
    c.pos++;
  } else {
    for (;;) {
      const name = parseName(c);
      c.expect('=');
      out.push([name, parseValue(c)]);
      c.skipSpace();
      const next = c.text[c.pos++];
      if (next === '}') break;
      if (next !== ',') c.fail("expected ',' or '}'");
    }
  }
  c.skipSpace();
  if (c.pos !== text.length) c.fail('unexpected text after the closing brace');
  return out;
}
