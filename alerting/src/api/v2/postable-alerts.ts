// POST /api/v2/alerts input → PostableAlert[], validated as Alertmanager validates (model.Alert.Validate):
// at least one label, valid names, startsAt not after endsAt. Unlike Alertmanager, which stores the
// valid alerts of a partly invalid batch, a batch with any invalid alert is refused whole: the 400 names
// the first bad field and nothing is stored, so a retry after fixing the sender cannot double-count.
import type { PostableAlert } from '../../model/alert.js';
import { badRequest } from '../http-error.js';
import type { ApiLimits } from '../limits.js';
import { describeValue, isObject, labelSet, optionalDate, optionalString } from '../validate.js';

export function parsePostableAlerts(body: unknown, limits: ApiLimits): PostableAlert[] {
  if (!Array.isArray(body)) throw badRequest('alerts', `expected an array of alerts, got ${describeValue(body)}`);
  if (body.length > limits.maxAlertsPerPost) throw badRequest('alerts', `${body.length} alerts, at most ${limits.maxAlertsPerPost} per request`);
  return body.map((item, i) => parseAlert(item, `alerts[${i}]`, limits));
}

function parseAlert(v: unknown, field: string, limits: ApiLimits): PostableAlert {
  if (!isObject(v)) throw badRequest(field, `expected an object, got ${describeValue(v)}`);
  if (v.labels === undefined) throw badRequest(`${field}.labels`, 'required');
  const labels = labelSet(v.labels, `${field}.labels`, limits);
  if (Object.keys(labels).length === 0) throw badRequest(`${field}.labels`, 'at least one label pair required');
  const annotations = v.annotations === undefined || v.annotations === null ? {} : labelSet(v.annotations, `${field}.annotations`, limits);
  const startsAt = optionalDate(v.startsAt, `${field}.startsAt`);
  const endsAt = optionalDate(v.endsAt, `${field}.endsAt`);
  if (startsAt && endsAt && endsAt.getTime() < startsAt.getTime()) {
    throw badRequest(`${field}.endsAt`, `${endsAt.toISOString()} is before startsAt ${startsAt.toISOString()}`);
  }
  const generatorURL = optionalString(v.generatorURL, `${field}.generatorURL`, limits.maxLabelValueBytes);
  const out: PostableAlert = { labels, annotations };
  if (startsAt) out.startsAt = startsAt;
  if (endsAt) out.endsAt = endsAt;
  if (generatorURL) out.generatorURL = generatorURL;
  return out;
}
