// Query filters of the v2 API: `filter` matchers (one per value, as amtool and Grafana send them) and the
// receiver regex, with Alertmanager's matchFilterLabels semantics for empty values.
import { AlertingError } from '../../model/errors.js';
import type { LabelSet } from '../../model/labels.js';
import { MAX_REGEX_BYTES, parseMatcher, type LabelMatcher } from '../../model/matchers.js';
import { HttpError, badRequest } from '../http-error.js';
import { queryList } from '../validate.js';

type Query = Record<string, string | string[] | undefined>;

export function parseFilters(q: Query, name = 'filter'): LabelMatcher[] {
  const raw = queryList(q, name);
  if (raw.length > 64) throw badRequest(name, `${raw.length} matchers, at most 64 allowed`);
  return raw.map((s) => {
    try {
      return parseMatcher(s, { field: name, maxRegexBytes: MAX_REGEX_BYTES });
    } catch (err) {
      if (err instanceof HttpError) throw err;
      if (err instanceof AlertingError) throw badRequest(name, err.message.replace(/^matchers: /, '').replace(new RegExp(`^${name}: `), ''));
      throw err;
    }
  });
}

/** Alertmanager's matchFilterLabels: `x=""` also matches a missing label; `x!=""` is skipped when present. */
export function matchFilterLabels(matchers: readonly LabelMatcher[], labels: LabelSet): boolean {
  for (const m of matchers) {
    const present = Object.hasOwn(labels, m.name);
    const v = labels[m.name] ?? '';
    if (m.type === '!=' || m.type === '!~') {
      if (m.value === '' && present) continue;
    } else if (m.value === '' && !present) continue;
    if (!m.matches(v)) return false;
  }
  return true;
}
