// The page's routes: GET / and the two form endpoints. The forms validate exactly as POST /api/v2/silences
// (the same parser), answer the page again with the problem (400) or redirect after success (303).
import { Buffer } from 'node:buffer';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { readForm } from '../api/body.js';
import type { ApiDeps } from '../api/deps.js';
import { HttpError, describe } from '../api/http-error.js';
import type { ApiLimits } from '../api/limits.js';
import { parsePostableSilence } from '../api/v2/postable-silence.js';
import { gettableSilence, sortSilences } from '../api/v2/shapes.js';
import { alertStatus } from '../api/v2/suppression.js';
import { AlertingError } from '../model/errors.js';
import { MAX_REGEX_BYTES, parseMatchers, toApiMatcher } from '../model/matchers.js';
import type { Alert } from '../model/alert.js';
import { Csrf } from './csrf.js';
import { parseDuration } from './duration.js';
import { messagePage, type HtmlReply } from './html.js';
import { renderPage, type PageData, type PageGroup, type SilenceForm } from './page.js';

const MAX_DURATION_MS = 366 * 86_400_000;

export const groupAnchor = (groupKey: string) => `/groups/${Buffer.from(groupKey, 'utf8').toString('base64url')}`;

function send(ctx: Context, r: HtmlReply): void {
  ctx.status = r.status;
  ctx.set(r.headers);
  ctx.body = r.body;
}

async function pageGroups(deps: ApiDeps, now: Date): Promise<PageGroup[]> {
  const dispatcher = deps.dispatcher?.();
  const silences = await deps.stores.silences.list();
  const firing = (alerts: Alert[]) => alerts.filter((a) => a.endsAt.getTime() > now.getTime());
  let groups: { groupKey: string; labels: Record<string, string>; receiver: string; alerts: Alert[]; evidence?: PageGroup['evidence'] }[];
  if (dispatcher) {
    groups = await dispatcher.groups();
  } else {
    // no dispatcher in this process: group by alertname so the page still shows what fires
    const byName = new Map<string, Alert[]>();
    for (const a of await deps.stores.alerts.list()) {
      const k = a.labels.alertname ?? '';
      byName.set(k, [...(byName.get(k) ?? []), a]);
    }
    groups = [...byName].map(([name, alerts]) => ({ groupKey: `{}:{alertname=${JSON.stringify(name)}}`, labels: { alertname: name }, receiver: '(no dispatcher)', alerts }));
  }
  const out: PageGroup[] = [];
  for (const g of groups) {
    const alerts = firing(g.alerts).sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
    if (alerts.length === 0) continue;
    const withStatus = [];
    for (const alert of alerts) withStatus.push({ alert, status: await alertStatus(alert, silences, now, dispatcher) });
    const ack = await deps.stores.acks.get(g.groupKey);
    const pg: PageGroup = { groupKey: g.groupKey, anchor: groupAnchor(g.groupKey), labels: g.labels, receiver: g.receiver, alerts: withStatus };
    if (ack) pg.ack = ack;
    if (g.evidence) pg.evidence = g.evidence;
    out.push(pg);
  }
  return out;
}

async function pageData(deps: ApiDeps, csrf: string, form: SilenceForm): Promise<PageData> {
  const now = deps.clock.now();
  const data: PageData = {
    now,
    groups: await pageGroups(deps, now),
    silences: sortSilences((await deps.stores.silences.list()).map((s) => gettableSilence(s, now))),
    csrf,
    form,
  };
  if (deps.rules) {
    try {
      data.rules = await deps.rules.listGroups();
    } catch (err) {
      data.rulesError = `rule manager unavailable: ${(err as Error).message}`;
    }
  }
  if (deps.messages) data.messages = await deps.messages();
  return data;
}

/** Matcher text from the query (`?filter={a="b"}` as notification links make it) for a pre-filled form. */
function prefill(q: Record<string, string | string[] | undefined>): SilenceForm {
  const raw = q.filter ?? q.matchers;
  const f = (Array.isArray(raw) ? raw.join(', ') : (raw ?? '')).slice(0, 4096);
  return { matchers: f.replace(/^\{(.*)\}$/s, '$1'), duration: '2h', createdBy: '', comment: '' };
}

/** The form → the API's silence body, then the API's own parser (same checks, same messages). */
function silenceFromForm(form: SilenceForm, deps: ApiDeps, limits: ApiLimits, now: Date) {
  if (form.matchers.trim() === '') throw new HttpError(400, 'matchers: at least one matcher required, e.g. alertname="HighLatency"');
  let matchers;
  try {
    matchers = parseMatchers(form.matchers, { field: 'matchers', maxRegexBytes: MAX_REGEX_BYTES }).map(toApiMatcher);
  } catch (err) {
    if (err instanceof AlertingError) throw new HttpError(400, err.message.startsWith('matchers:') ? err.message : `matchers: ${err.message}`);
    throw err;
  }
  const ms = parseDuration(form.duration);
  if (ms === undefined || ms <= 0) throw new HttpError(400, `duration: ${JSON.stringify(form.duration.slice(0, 40))} is not a duration like 30m, 2h or 1d`);
  if (ms > MAX_DURATION_MS) throw new HttpError(400, 'duration: at most 366d');
  if (form.createdBy.trim() === '') throw new HttpError(400, 'createdBy: say who creates the silence');
  if (form.comment.trim() === '') throw new HttpError(400, 'comment: say why (amtool requires a comment too)');
  const body = { matchers, startsAt: now.toISOString(), endsAt: new Date(now.getTime() + ms).toISOString(), createdBy: form.createdBy.trim(), comment: form.comment.trim() };
  return parsePostableSilence(body, limits, now);
}

/** Form endpoints answer problems as a page (a browser shows it), not as the API's JSON string. */
function htmlErrors(handler: (ctx: Context) => Promise<void>) {
  return async (ctx: Context): Promise<void> => {
    try {
      await handler(ctx);
    } catch (err) {
      const { status, message } = describe(err);
      if (status >= 500) throw err;
      send(ctx, messagePage(status === 403 ? 'Request refused' : 'Request not accepted', message, status));
    }
  };
}

export function webRoutes(router: Router, deps: ApiDeps, limits: ApiLimits): void {
  const csrf = new Csrf(deps.ackSecret, deps.externalURL);

  router.get('/', async (ctx) => {
    const notice = typeof ctx.query.notice === 'string' ? ctx.query.notice.slice(0, 200) : undefined;
    const data = await pageData(deps, csrf.token(ctx), prefill(ctx.query));
    if (notice) data.notice = notice;
    send(ctx, renderPage(data));
  });

  router.post('/ui/silences', htmlErrors(async (ctx) => {
    const params = await readForm(ctx, limits.maxFormBytes);
    csrf.check(ctx, params);
    const form: SilenceForm = {
      matchers: params.get('matchers') ?? '',
      duration: params.get('duration') ?? '',
      createdBy: params.get('createdBy') ?? '',
      comment: params.get('comment') ?? '',
    };
    const now = deps.clock.now();
    try {
      const silence = silenceFromForm(form, deps, limits, now);
      const id = await deps.stores.silences.upsert(silence, now);
      deps.logger.info({ silenceID: id, createdBy: silence.createdBy, via: 'page' }, 'silence saved');
      ctx.redirect(`/?notice=${encodeURIComponent(`Silence ${id} created`)}#silences`);
      ctx.status = 303;
    } catch (err) {
      const { status, message } = describe(err);
      if (status >= 500) throw err;
      const data = await pageData(deps, csrf.token(ctx), form);
      data.problem = message;
      send(ctx, renderPage(data, status));
    }
  }));

  router.post('/ui/silences/:id/expire', htmlErrors(async (ctx) => {
    const params = await readForm(ctx, limits.maxFormBytes);
    csrf.check(ctx, params);
    const id = ctx.params.id!.slice(0, 64);
    try {
      await deps.stores.silences.expire(id, deps.clock.now());
    } catch (err) {
      const { status, message } = describe(err);
      if (status >= 500) throw err;
      send(ctx, messagePage('Silence not expired', message, status));
      return;
    }
    deps.logger.info({ silenceID: id, via: 'page' }, 'silence expired');
    ctx.redirect(`/?notice=${encodeURIComponent(`Silence ${id} expired`)}#silences`);
    ctx.status = 303;
  }));
}
