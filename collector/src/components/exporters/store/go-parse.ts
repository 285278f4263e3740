// Go's parsers as Jaeger's query service uses them (time.ParseDuration, strconv.ParseInt/ParseUint,
// model.TraceIDFromString, json.Unmarshal into map[string]string), with Go's error texts, so our 400s read like Jaeger's.
import { CollectorError } from '../../../pipeline/errors.js';

/** A request parameter was invalid; the message is what the client sees. */
export class ParamError extends CollectorError {
  constructor(message: string) {
    super('STORE_BAD_PARAM', message);
  }
}

/** strconv.Quote, close enough: JSON string escaping. */
const quote = (s: string) => JSON.stringify(s);

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const MAX_DURATION_NS = 2 ** 63;

/** time.ParseDuration → nanoseconds, or throws ParamError with Go's text. */
export function parseGoDuration(s: string): number {
  const orig = s;
  const invalid = () => new ParamError(`time: invalid duration ${quote(orig)}`);
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (m[0] === '' || m[0] === '.') throw invalid();
    s = s.slice(m[0].length);
    const u = /^[^\d.]*/.exec(s)![0];
    if (u === '') throw new ParamError(`time: missing unit in duration ${quote(orig)}`);
    const unit = DURATION_UNITS[u];
    if (unit === undefined) throw new ParamError(`time: unknown unit ${quote(u)} in duration ${quote(orig)}`);
    s = s.slice(u.length);
    total += Number(`${m[1] || '0'}.${m[2] || '0'}`) * unit;
    if (total > MAX_DURATION_NS) throw invalid();
  }
  return neg ? -total : total;
}

/** strconv.ParseInt(s, 10, bits) → number, or ParamError with Go's text. */
export function parseGoInt(s: string, bits: 32 | 64 = 64): number {
  if (!/^[+-]?\d+$/.test(s)) throw new ParamError(`strconv.ParseInt: parsing ${quote(s)}: invalid syntax`);
  const n = BigInt(s);
  const max = (1n << BigInt(bits - 1)) - 1n;
  if (n > max || n < -max - 1n) throw new ParamError(`strconv.ParseInt: parsing ${quote(s)}: value out of range`);
  return Number(n);
}

function parseHexUint64(s: string): void {
  if (!/^[0-9a-fA-F]+$/.test(s)) throw new ParamError(`strconv.ParseUint: parsing ${quote(s)}: invalid syntax`);
}

/** model.TraceIDFromString: hex, at most 32 chars, shorter is left-padded → 32 lower-case hex chars. */
export function parseTraceId(s: string): string {
  if (s.length > 32) throw new ParamError(`TraceID cannot be longer than 32 hex characters: ${s}`);
  if (s.length > 16) {
    parseHexUint64(s.slice(0, s.length - 16));
    parseHexUint64(s.slice(s.length - 16));
  } else parseHexUint64(s);
  return s.toLowerCase().padStart(32, '0');
}

/** The trace id of /api/traces/{id}: hex as above, else std/URL base64 of 16 bytes (apiv3 TraceIDFromString). */
export function parsePathTraceId(s: string): string {
  if (/^[0-9a-fA-F]{1,32}$/.test(s)) return parseTraceId(s);
  if (/^[A-Za-z0-9+/_-]{21,22}={0,2}$/.test(s)) {
    const bytes = Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 16) return bytes.toString('hex');
  }
  return parseTraceId(s);
}

/** json.Unmarshal(s, &map[string]string): an object of strings (null = ""), else Go's error text. */
export function parseTagsJson(s: string): Record<string, string> {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (err) {
    throw new ParamError((err as Error).message.replace(/^JSON\.parse: /, '') || 'unexpected end of JSON input');
  }
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ParamError(`json: cannot unmarshal ${goJsonKind(v)} into Go value of type map[string]string`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (val === null) out[k] = '';
    else if (typeof val === 'string') out[k] = val;
    else throw new ParamError(`json: cannot unmarshal ${goJsonKind(val)} into Go value of type string`);
  }
  return out;
}

function goJsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new ParamError(`strconv.ParseBool: parsing ${quote(s)}: invalid syntax`);
}
