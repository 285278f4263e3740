// The redaction rules for one attribute map, in the contrib processor's order: ignored keys pass
// untouched; keys not allowed (fail-closed mode) are removed; a value matching allowed_values is kept;
// a key matching blocked_key_patterns has its whole value masked; matches of blocked_values inside a
// string value are masked. Maps are never modified: a changed map is a new object.
import { createHash } from 'node:crypto';
import type { Attributes, OtlpValue } from '../../../otlp/types.js';
import type { RedactionConfig } from './config.js';
import type { Pattern } from './patterns.js';

export const MASK = '****';

/** The processor's own audit attributes (contrib names). */
export const AUDIT = {
  redactedKeys: 'redaction.redacted.keys',
  redactedCount: 'redaction.redacted.count',
  maskedKeys: 'redaction.masked.keys',
  maskedCount: 'redaction.masked.count',
  allowedKeys: 'redaction.allowed.keys',
  allowedCount: 'redaction.allowed.count',
  ignoredCount: 'redaction.ignored.count',
  bodyRedactedKeys: 'redaction.body.redacted.keys',
  bodyRedactedCount: 'redaction.body.redacted.count',
  bodyMaskedKeys: 'redaction.body.masked.keys',
  bodyMaskedCount: 'redaction.body.masked.count',
  bodyAllowedKeys: 'redaction.body.allowed.keys',
  bodyAllowedCount: 'redaction.body.allowed.count',
  bodyIgnoredCount: 'redaction.body.ignored.count',
} as const;

/** What was done to one map (or one log body): key names per outcome. */
export interface Outcome {
  redacted: string[];
  masked: string[];
  allowed: string[];
  ignored: string[];
}

export const emptyOutcome = (): Outcome => ({ redacted: [], masked: [], allowed: [], ignored: [] });

/** Running totals for the self metrics. */
export interface Tally {
  masked: number;
  redacted: number;
}

const HASH_ALGORITHM: Record<Exclude<RedactionConfig['hash_function'], 'none'>, string> = { md5: 'md5', sha1: 'sha1', sha256: 'sha256', sha3: 'sha3-256' };
const ATTR_SEPARATOR = ',';

export class Redactor {
  private readonly allowList: Set<string>;
  private readonly ignoreList: Set<string>;

  constructor(readonly config: RedactionConfig) {
    // the audit keys must survive a second redaction processor in fail-closed mode (as contrib)
    this.allowList = new Set([...config.allowed_keys, ...Object.values(AUDIT)]);
    this.ignoreList = new Set(config.ignored_keys);
  }

  shouldIgnoreKey(k: string): boolean {
    return this.ignoreList.has(k) || matchesAny(this.config.ignored_key_patterns, k);
  }

  shouldRedactKey(k: string): boolean {
    return !this.config.allow_all_keys && !this.allowList.has(k);
  }

  shouldMaskKey(k: string): boolean {
    return matchesAny(this.config.blocked_key_patterns, k);
  }

  shouldAllowValue(s: string): boolean {
    return matchesAny(this.config.allowed_values, s);
  }

  /** The mask (or digest) of a whole value. */
  mask(s: string): string {
    const fn = this.config.hash_function;
    return fn === 'none' ? MASK : createHash(HASH_ALGORITHM[fn]).update(s).digest('hex');
  }

  /** `s` with every blocked_values match masked, pattern after pattern. */
  maskBlocked(s: string): string {
    let out = s;
    for (const p of this.config.blocked_values) {
      if (p.test.test(out)) out = out.replace(p.all, (m) => this.mask(m));
    }
    return out;
  }

  /** The string a value is checked as, or undefined when it is not checked (non-strings unless redact_all_types). */
  checkedString(v: OtlpValue): string | undefined {
    if (typeof v === 'string') return v;
    return this.config.redact_all_types ? asString(v) : undefined;
  }

  /** Redacts one attribute map; returns the same object when nothing changed. Audit attributes are added per `summary`. */
  redactAttributes(attrs: Attributes, tally: Tally): Attributes {
    const outcome = emptyOutcome();
    const replaced = new Map<string, OtlpValue>();
    for (const [k, v] of Object.entries(attrs)) {
      if (this.shouldIgnoreKey(k)) {
        outcome.ignored.push(k);
        continue;
      }
      if (this.shouldRedactKey(k)) {
        outcome.redacted.push(k);
        continue;
      }
      const s = this.checkedString(v);
      if (s !== undefined && this.shouldAllowValue(s)) {
        outcome.allowed.push(k);
        continue;
      }
      if (this.shouldMaskKey(k)) {
        outcome.masked.push(k);
        replaced.set(k, this.mask(s ?? asString(v)));
        continue;
      }
      if (s === undefined) continue;
      const masked = this.maskBlocked(s);
      if (masked !== s) {
        outcome.masked.push(k);
        replaced.set(k, masked);
      }
    }
    tally.masked += outcome.masked.length;
    tally.redacted += outcome.redacted.length;
    if (replaced.size === 0 && outcome.redacted.length === 0 && !this.hasSummary(outcome)) return attrs;
    const removed = new Set(outcome.redacted);
    const out: Attributes = {};
    for (const [k, v] of Object.entries(attrs)) if (!removed.has(k)) out[k] = replaced.has(k) ? replaced.get(k)! : v;
    this.addSummary(out, outcome, 'attributes');
    return out;
  }

  /** Whether `outcome` adds any audit attribute under the configured summary level. */
  hasSummary(outcome: Outcome): boolean {
    if (this.config.summary === 'silent') return false;
    return outcome.redacted.length + outcome.masked.length + outcome.allowed.length + outcome.ignored.length > 0;
  }

  /** Adds (merging with what an earlier redaction processor wrote) the audit attributes to `out`, in place: `out` is our own copy. */
  addSummary(out: Attributes, outcome: Outcome, of: 'attributes' | 'body'): void {
    const body = of === 'body';
    this.addAudit(out, outcome.redacted, body ? AUDIT.bodyRedactedKeys : AUDIT.redactedKeys, body ? AUDIT.bodyRedactedCount : AUDIT.redactedCount);
    this.addAudit(out, outcome.masked, body ? AUDIT.bodyMaskedKeys : AUDIT.maskedKeys, body ? AUDIT.bodyMaskedCount : AUDIT.maskedCount);
    this.addAudit(out, outcome.allowed, body ? AUDIT.bodyAllowedKeys : AUDIT.allowedKeys, body ? AUDIT.bodyAllowedCount : AUDIT.allowedCount);
    this.addAudit(out, outcome.ignored, undefined, body ? AUDIT.bodyIgnoredCount : AUDIT.ignoredCount);
  }

  private addAudit(out: Attributes, keys: string[], keysAttr: string | undefined, countAttr: string): void {
    if (keys.length === 0 || this.config.summary === 'silent') return;
    if (this.config.summary === 'debug' && keysAttr) {
      const existing = out[keysAttr];
      const all = typeof existing === 'string' && existing !== '' ? [...keys, ...existing.split(ATTR_SEPARATOR)] : [...keys];
      out[keysAttr] = all.sort().join(ATTR_SEPARATOR);
    }
    const before = out[countAttr];
    out[countAttr] = (typeof before === 'number' ? before : 0) + keys.length;
  }
}

function matchesAny(list: Pattern[], s: string): boolean {
  for (const p of list) if (p.test.test(s)) return true;
  return false;
}

/** A value as text, as pdata's AsString: numbers and booleans as written, arrays and maps as JSON, null as empty. */
export function asString(v: OtlpValue): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
