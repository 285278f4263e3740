// Field-by-field checks of API input. Every error names the field with its path, e.g.
// `alerts[2].labels: invalid label name "1x"`, so the sender can find the offending item.
import { LABEL_NAME, type LabelSet } from '../model/labels.js';
import { MAX_REGEX_BYTES, compileAnchored } from '../model/matchers.js';
import { badRequest } from './http-error.js';
import type { ApiLimits } from './limits.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
/** Go's zero time.Time, which amtool sends for "not given" (`0001-01-01T00:00:00Z`). */
const GO_ZERO_TIME_MS = -62135596800000;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function describeValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** An RFC 3339 date-time; undefined for absent, null or Go's zero time (the v2 API's "unset"). */
export function optionalDate(v: unknown, field: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !RFC3339.test(v)) throw badRequest(field, `invalid date-time ${describeValue(v)}, expected RFC 3339 like 2024-01-02T15:04:05Z`);
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw badRequest(field, `invalid date-time ${describeValue(v)}`);
  return d.getTime() === GO_ZERO_TIME_MS ? undefined : d;
}

export function requiredDate(v: unknown, field: string): Date {
  const d = optionalDate(v, field);
  if (!d) throw badRequest(field, 'required date-time missing');
  return d;
}

export function requiredString(v: unknown, field: string, maxBytes: number): string {
  if (typeof v !== 'string') throw badRequest(field, v === undefined ? 'required string missing' : `expected a string, got ${describeValue(v)}`);
  if (bytes(v) > maxBytes) throw badRequest(field, `longer than ${maxBytes} bytes`);
  return v;
}

export function optionalString(v: unknown, field: string, maxBytes: number): string | undefined {
  return v === undefined || v === null ? undefined : requiredString(v, field, maxBytes);
}

export function optionalBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(field, `expected true or false, got ${describeValue(v)}`);
  return v;
}

/**
 * A label set (labels or annotations): an object of strings with valid names, within the size limits.
 * Empty values are dropped, as Alertmanager's removeEmptyLabels does before validating.
 */
export function labelSet(v: unknown, field: string, limits: ApiLimits): LabelSet {
  if (!isObject(v)) throw badRequest(field, `expected an object of strings, got ${describeValue(v)}`);
  const entries = Object.entries(v);
  if (entries.length > limits.maxLabels) throw badRequest(field, `${entries.length} entries, at most ${limits.maxLabels} allowed`);
  const out: LabelSet = {};
  for (const [name, value] of entries) {
    if (bytes(name) > limits.maxLabelNameBytes) throw badRequest(field, `name ${describeValue(name)} longer than ${limits.maxLabelNameBytes} bytes`);
    if (!LABEL_NAME.test(name)) throw badRequest(field, `invalid label name ${describeValue(name)}`);
    if (typeof value !== 'string') throw badRequest(`${field}.${name}`, `expected a string, got ${describeValue(value)}`);
    if (bytes(value) > limits.maxLabelValueBytes) throw badRequest(`${field}.${name}`, `value longer than ${limits.maxLabelValueBytes} bytes`);
    if (value !== '') out[name] = value;
  }
  return out;
}

/** Query booleans as go-openapi reads them: absent → default; "true"/"false"/"1"/"0"; else 400. */
export function queryBool(q: Record<string, string | string[] | undefined>, name: string, dflt: boolean): boolean {
  const raw = q[name];
  if (raw === undefined) return dflt;
  const v = Array.isArray(raw) ? raw[raw.length - 1]! : raw;
  if (v === '') return dflt;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw badRequest(name, `expected true or false, got ${describeValue(v)}`);
}

export function queryList(q: Record<string, string | string[] | undefined>, name: string): string[] {
  const raw = q[name];
  if (raw === undefined) return [];
  return Array.isArray(raw) ? raw : [raw];
}

/** A Go RE2 regex anchored as Alertmanager anchors receiver filters (`^(?:re)$`). */
export function anchoredRegex(src: string, field: string): RegExp {
  try {
    return compileAnchored(src, MAX_REGEX_BYTES);
  } catch (err) {
    throw badRequest(field, (err as Error).message);
  }
}
