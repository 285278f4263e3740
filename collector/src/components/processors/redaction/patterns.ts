// The OpenTelemetry Collector's patterns are Go (RE2) regular expressions; ours run on JavaScript's
// engine. The common RE2 spellings that JavaScript writes differently are translated: leading inline
// flags `(?i)`, `(?s)`, `(?m)` become RegExp flags, and named groups `(?P<name>…)` become `(?<name>…)`.
//
// ⚠ JavaScript's engine backtracks: a pattern with nested quantifiers such as `(a+)+$` can take
// exponential time on a crafted value and stall the whole collector (RE2 cannot). Keep patterns
// linear (no quantified groups that contain quantifiers over the same characters); every pattern
// runs on every string attribute value of every item.

/** A compiled pattern: `test` for matching (no state), `all` (global) for replacing every match. */
export interface Pattern {
  source: string;
  test: RegExp;
  all: RegExp;
}

const INLINE_FLAGS = /^\(\?([ims]+)\)/;

/** Compiles a Go-style pattern; throws SyntaxError when JavaScript cannot compile it. */
export function compilePattern(source: string): Pattern {
  let body = source;
  let flags = '';
  const m = INLINE_FLAGS.exec(body);
  if (m) {
    flags = [...new Set(m[1]!)].join('');
    body = body.slice(m[0].length);
  }
  body = body.replace(/\(\?P</g, '(?<');
  return { source, test: new RegExp(body, flags), all: new RegExp(body, `${flags}g`) };
}
