// POST /api/v2/silences input → PostableSilence: the JSON shape checked here (types, dates, sizes), then
// Alertmanager's rules through notify/silence-match.ts validateSilence. Errors name the field.
import { AlertingError } from '../../model/errors.js';
import { LABEL_NAME, type LabelSet } from '../../model/labels.js';
import { MAX_REGEX_BYTES, fromApiMatcher } from '../../model/matchers.js';
import type { Matcher, PostableSilence } from '../../model/silence.js';
import { badRequest } from '../http-error.js';
import type { ApiLimits } from '../limits.js';
import { validateSilence } from '../../notify/silence-match.js';
import { describeValue, isObject, labelSet, optionalBool, requiredDate, requiredString } from '../validate.js';

export function parseMatcherList(v: unknown, field: string, limits: ApiLimits): Matcher[] {
  if (!Array.isArray(v)) throw badRequest(field, v === undefined ? 'required' : `expected an array of matchers, got ${describeValue(v)}`);
  if (v.length === 0) throw badRequest(field, 'at least one matcher required');
  if (v.length > limits.maxLabels) throw badRequest(field, `${v.length} matchers, at most ${limits.maxLabels} allowed`);
  return v.map((m, i) => parseApiMatcher(m, `${field}[${i}]`, limits));
}

function parseApiMatcher(v: unknown, field: string, limits: ApiLimits): Matcher {
  if (!isObject(v)) throw badRequest(field, `expected a matcher object {name, value, isRegex, isEqual}, got ${describeValue(v)}`);
  const name = requiredString(v.name, `${field}.name`, limits.maxLabelNameBytes);
  if (!LABEL_NAME.test(name)) throw badRequest(`${field}.name`, `invalid label name ${describeValue(name)}`);
  const value = requiredString(v.value, `${field}.value`, limits.maxLabelValueBytes);
  const isRegex = optionalBool(v.isRegex, `${field}.isRegex`);
  if (isRegex === undefined) throw badRequest(`${field}.isRegex`, 'required');
  const isEqual = optionalBool(v.isEqual, `${field}.isEqual`) ?? true;
  const m: Matcher = { name, value, isRegex, isEqual };
  try {
    fromApiMatcher(m, { maxRegexBytes: MAX_REGEX_BYTES });
  } catch (err) {
    if (err instanceof AlertingError) throw badRequest(`${field}.value`, err.message);
    throw err;
  }
  return m;
}

export function parsePostableSilence(body: unknown, limits: ApiLimits, now: Date): PostableSilence {
  if (!isObject(body)) throw badRequest('silence', `expected a silence object, got ${describeValue(body)}`);
  let id: string | undefined;
  if (body.id !== undefined && body.id !== null && body.id !== '') {
    // an id that names no stored silence (any non-UUID included) is answered 404 by the store, as in Alertmanager
    id = requiredString(body.id, 'id', 64);
  }
  const matchers = parseMatcherList(body.matchers, 'matchers', limits);
  const startsAt = requiredDate(body.startsAt, 'startsAt');
  const endsAt = requiredDate(body.endsAt, 'endsAt');
  const createdBy = requiredString(body.createdBy, 'createdBy', 1024);
  const comment = requiredString(body.comment, 'comment', limits.maxLabelValueBytes);
  const annotations: LabelSet = body.annotations === undefined || body.annotations === null ? {} : labelSet(body.annotations, 'annotations', limits);
  const s: PostableSilence = { matchers, startsAt, endsAt, createdBy, comment, annotations };
  if (id) s.id = id;
  // Alertmanager's semantic rules (matchers not all matching "", start before end, end not past, sizes)
  validateSilence(s, now);
  return s;
}
