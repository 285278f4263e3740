// Which silences mute an alert, and whether a silence posted on the API is acceptable — Alertmanager's rules
// (silence/silence.go validateSilence, api/v2 postSilencesHandler), with bounded sizes.
import { LABEL_NAME, type LabelSet } from '../model/labels.js';
import { fromApiMatcher, matches, MAX_REGEX_BYTES, RegexError, type LabelMatcher } from '../model/matchers.js';
import { ValidationError } from '../model/errors.js';
import { silenceState, type PostableSilence, type Silence } from '../model/silence.js';

/** Limits on what one silence may hold (Alertmanager has a configurable byte limit; these are fixed). */
export const SILENCE_LIMITS = {
  matchers: 64,
  nameBytes: 1024,
  valueBytes: 4096,
  commentBytes: 8192,
  createdByBytes: 1024,
  annotations: 64,
} as const;

const compiled = new WeakMap<Silence, LabelMatcher[]>();

function matchersOf(s: Silence): LabelMatcher[] | undefined {
  let ms = compiled.get(s);
  if (!ms) {
    try {
      ms = s.matchers.map((m) => fromApiMatcher(m));
    } catch {
      return undefined; // a stored silence with a bad regex matches nothing rather than failing the flush
    }
    compiled.set(s, ms);
  }
  return ms;
}

/** Ids of the silences active at `now` whose matchers all match `labels` (sorted). */
export function silencedBy(labels: LabelSet, silences: readonly Silence[], now: Date): string[] {
  const out: string[] = [];
  for (const s of silences) {
    if (silenceState(s, now) !== 'active') continue;
    const ms = matchersOf(s);
    if (ms && ms.length > 0 && matches(ms, labels)) out.push(s.id);
  }
  return out.sort();
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Alertmanager's matchesEmpty: `=""`, or a regex matching "" (negative matchers never count). */
function matchesEmpty(m: LabelMatcher): boolean {
  if (m.type === '=') return m.value === '';
  if (m.type === '=~') return m.matches('');
  return false;
}

/**
 * Checks a silence from POST /api/v2/silences. Throws ValidationError naming the field (the API answers 400).
 * Returns the compiled matchers.
 */
export function validateSilence(s: PostableSilence, now: Date): LabelMatcher[] {
  if (!Array.isArray(s.matchers) || s.matchers.length === 0) throw new ValidationError('matchers', 'at least one matcher is required');
  if (s.matchers.length > SILENCE_LIMITS.matchers) throw new ValidationError('matchers', `at most ${SILENCE_LIMITS.matchers} matchers are allowed`);
  const ms = s.matchers.map((m, i) => {
    const at = `matchers[${i}]`;
    if (typeof m?.name !== 'string' || !LABEL_NAME.test(m.name)) throw new ValidationError(`${at}.name`, `invalid label name ${JSON.stringify(m?.name)}`);
    if (bytes(m.name) > SILENCE_LIMITS.nameBytes) throw new ValidationError(`${at}.name`, `longer than ${SILENCE_LIMITS.nameBytes} bytes`);
    if (typeof m.value !== 'string') throw new ValidationError(`${at}.value`, 'must be a string');
    if (bytes(m.value) > (m.isRegex ? MAX_REGEX_BYTES : SILENCE_LIMITS.valueBytes))
      throw new ValidationError(`${at}.value`, `longer than ${m.isRegex ? MAX_REGEX_BYTES : SILENCE_LIMITS.valueBytes} bytes`);
    try {
      return fromApiMatcher(m, { maxRegexBytes: MAX_REGEX_BYTES });
    } catch (e) {
      if (e instanceof RegexError) throw new ValidationError(`${at}.value`, e.message);
      throw e;
    }
  });
  if (ms.every(matchesEmpty)) throw new ValidationError('matchers', 'at least one matcher must not match the empty string');
  const start = s.startsAt instanceof Date ? s.startsAt.getTime() : NaN;
  const end = s.endsAt instanceof Date ? s.endsAt.getTime() : NaN;
  if (Number.isNaN(start)) throw new ValidationError('startsAt', 'must be a valid date-time');
  if (Number.isNaN(end)) throw new ValidationError('endsAt', 'must be a valid date-time');
  if (start >= end) throw new ValidationError('endsAt', 'start time must be before end time');
  if (end < now.getTime()) throw new ValidationError('endsAt', "end time can't be in the past");
  for (const f of ['createdBy', 'comment'] as const) {
    const v = s[f];
    if (typeof v !== 'string' || v.trim() === '') throw new ValidationError(f, 'is required');
    const max = f === 'comment' ? SILENCE_LIMITS.commentBytes : SILENCE_LIMITS.createdByBytes;
    if (bytes(v) > max) throw new ValidationError(f, `longer than ${max} bytes`);
  }
  const ann = s.annotations ?? {};
  if (Object.keys(ann).length > SILENCE_LIMITS.annotations) throw new ValidationError('annotations', `at most ${SILENCE_LIMITS.annotations} annotations are allowed`);
  for (const [k, v] of Object.entries(ann))
    if (typeof v !== 'string' || bytes(k) + bytes(v) > SILENCE_LIMITS.valueBytes) throw new ValidationError(`annotations.${k}`, 'must be a string of bounded size');
  return ms;
}
