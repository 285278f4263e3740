/**
 * Checks for classes of hostile input, shared by the body parser and the path/query guard. None of
 * them recurses: input nested thousands of levels deep must cost a loop, never the call stack.
 */

/** Keys that reach Object.prototype through assignment (`obj[key] = v`, Object.assign, merges). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A NUL, or half of a UTF-16 surrogate pair with no other half (what invalid UTF-8 decodes to in JS). */
const BAD_TEXT = /[\0\uD800-\uDFFF]/u;

/** Why a string is refused, or undefined when it is fine. */
export function badText(s: string): string | undefined {
  const m = BAD_TEXT.exec(s);
  if (!m) return undefined;
  return m[0] === '\0' ? 'contains a NUL character' : 'contains a lone UTF-16 surrogate (not valid Unicode text)';
}

/**
 * The deepest nesting of objects and arrays in JSON text, counted by a scan over its characters
 * (strings and their escapes skipped), stopping as soon as `max` is exceeded. Returns true when the
 * text nests deeper than `max`. Runs before JSON.parse, so a deep body costs one pass and no parse.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** One refused value inside parsed JSON: where it is (`body.items.0.name`), why, and a stable code. */
export interface BadValue {
  path: string;
  /** What is wrong with it, without the path ("contains a NUL character"). */
  reason: string;
  code: 'invalid_text' | 'forbidden_key' | 'number_out_of_range';
}

/**
 * The first value in parsed JSON a service must not accept: a key that reaches a prototype, a
 * string (value or key) with a NUL or a lone surrogate, a number JSON.parse turned into Infinity
 * (1e400). Walks with an explicit stack, so depth costs memory, not call frames.
 */
export function findBadValue(root: unknown, rootPath: string): BadValue | undefined {
  const stack: [unknown, string][] = [[root, rootPath]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      const why = badText(value);
      if (why) return { path, reason: why, code: 'invalid_text' };
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { path, reason: 'is a number too large to represent', code: 'number_out_of_range' };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}.${i}`]);
    } else if (value !== null && typeof value === 'object') {
      for (const key of Object.keys(value)) {
        const at = `${path}.${key}`;
        if (FORBIDDEN_KEYS.has(key)) return { path: at, reason: `the key "${key}" is not allowed`, code: 'forbidden_key' };
        const why = badText(key);
        if (why) return { path: `${path}.${JSON.stringify(key).slice(1, -1)}`, reason: `the key ${why}`, code: 'invalid_text' };
        stack.push([(value as Record<string, unknown>)[key], at]);
      }
    }
  }
  return undefined;
}

/**
 * decodeURIComponent, or undefined when the text has a malformed escape (`%E0%A4%A`, `%zz`) or
 * escapes bytes that are not UTF-8 (`%FF`, an encoded surrogate): both throw URIError.
 */
export function decodeComponent(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
