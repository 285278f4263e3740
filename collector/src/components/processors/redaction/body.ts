// Log bodies, as contrib: a string (or number/boolean) body has blocked_values matches masked in place
// (a card number inside a message line); a map body has the key rules applied at every level
// (paths like `user.card`, `[0].email`); allowed_values keeps a leaf as it is.
import type { OtlpValue } from '../../../otlp/types.js';
import { asString, emptyOutcome, type Outcome, type Redactor } from './redactor.js';

/** The redacted body (the same value when unchanged) and what was done, by path. */
export function redactBody(r: Redactor, body: OtlpValue): { body: OtlpValue; outcome: Outcome } {
  const outcome = emptyOutcome();
  if (body === null) return { body, outcome };
  if (Array.isArray(body) || typeof body === 'object') return { body: redactNested(r, '', body, outcome), outcome };
  const s = asString(body);
  // as contrib: an allowed body is left alone and not reported
  if (r.shouldAllowValue(s)) return { body, outcome };
  const masked = r.maskBlocked(s);
  if (masked === s) return { body, outcome };
  outcome.masked.push('body');
  return { body: masked, outcome };
}

const join = (path: string, part: string) => (path === '' ? part : `${path}.${part}`);

function redactNested(r: Redactor, path: string, v: OtlpValue, outcome: Outcome): OtlpValue {
  if (v === null) return v;
  if (Array.isArray(v)) {
    let out: OtlpValue[] | undefined;
    v.forEach((item, i) => {
      const next = redactNested(r, join(path, `[${i}]`), item, outcome);
      if (next !== item) (out ??= [...v])[i] = next;
    });
    return out ?? v;
  }
  if (typeof v === 'object') return redactMap(r, path, v, outcome);
  return redactLeaf(r, path, v, outcome);
}

function redactMap(r: Redactor, path: string, map: { [key: string]: OtlpValue }, outcome: Outcome): OtlpValue {
  let changed = false;
  const out: { [key: string]: OtlpValue } = {};
  for (const [k, v] of Object.entries(map)) {
    const at = join(path, k);
    if (r.shouldIgnoreKey(k)) {
      outcome.ignored.push(at);
      out[k] = v;
    } else if (r.shouldRedactKey(k)) {
      outcome.redacted.push(at);
      changed = true;
    } else if (r.shouldMaskKey(k)) {
      outcome.masked.push(at);
      out[k] = r.mask(asString(v));
      changed = true;
    } else {
      out[k] = redactNested(r, at, v, outcome);
      changed ||= out[k] !== v;
    }
  }
  return changed ? out : map;
}

function redactLeaf(r: Redactor, path: string, v: OtlpValue, outcome: Outcome): OtlpValue {
  const s = asString(v);
  if (r.shouldAllowValue(s)) {
    outcome.allowed.push(path);
    return v;
  }
  const masked = r.maskBlocked(s);
  if (masked === s) return v;
  outcome.masked.push(path);
  return masked;
}
