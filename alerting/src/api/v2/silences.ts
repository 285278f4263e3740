// GET/POST /api/v2/silences, GET/DELETE /api/v2/silence/{id} (api.go getSilencesHandler, postSilencesHandler,
// getSilenceHandler, deleteSilenceHandler). DELETE answers 200 with an empty body: amtool accepts nothing else.
import type Router from '@koa/router';
import { NotFoundError } from '../../model/errors.js';
import type { Matcher, Silence } from '../../model/silence.js';
import { readJson } from '../body.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import type { ApiLimits } from '../limits.js';
import { queryBool } from '../validate.js';
import { parseFilters } from './filters.js';
import { parsePostableSilence } from './postable-silence.js';
import { gettableSilence, sortSilences } from './shapes.js';
import type { LabelMatcher } from '../../model/matchers.js';

/** Alertmanager's CheckSilenceMatchesFilterLabels: every filter matcher equals (name, type, value) one of the silence's. */
function silenceHasMatchers(s: Silence, filter: LabelMatcher[]): boolean {
  const same = (f: LabelMatcher, m: Matcher) => f.name === m.name && f.value === m.value && f.isRegex === m.isRegex && f.isEqual === m.isEqual;
  return filter.every((f) => s.matchers.some((m) => same(f, m)));
}

const MAX_ID = 64;

function silenceId(raw: string): string {
  if (raw.length > MAX_ID) throw new HttpError(404, `silence ${raw.slice(0, MAX_ID)}… not found`);
  return raw;
}

export function silenceRoutes(router: Router, deps: ApiDeps, limits: ApiLimits): void {
  router.get('/api/v2/silences', async (ctx) => {
    const filter = parseFilters(ctx.query);
    const include = {
      active: queryBool(ctx.query, 'active', true),
      pending: queryBool(ctx.query, 'pending', true),
      expired: queryBool(ctx.query, 'expired', true),
    };
    const now = deps.clock.now();
    const list = (await deps.stores.silences.list())
      .filter((s) => silenceHasMatchers(s, filter))
      .map((s) => gettableSilence(s, now))
      .filter((s) => include[s.status.state]);
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(sortSilences(list));
  });

  router.post('/api/v2/silences', async (ctx) => {
    const body = await readJson(ctx, limits.maxBodyBytes, limits.maxJsonDepth);
    const now = deps.clock.now();
    const silence = parsePostableSilence(body, limits, now);
    const silenceID = await deps.stores.silences.upsert(silence, now);
    deps.logger.info({ silenceID, createdBy: silence.createdBy, updated: silence.id !== undefined }, 'silence saved');
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({ silenceID });
  });

  router.get('/api/v2/silence/:id', async (ctx) => {
    const id = silenceId(ctx.params.id!);
    const s = await deps.stores.silences.get(id);
    if (!s) throw new NotFoundError(`silence ${id} not found`);
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(gettableSilence(s, deps.clock.now()));
  });

  router.delete('/api/v2/silence/:id', async (ctx) => {
    const id = silenceId(ctx.params.id!);
    await deps.stores.silences.expire(id, deps.clock.now());
    deps.logger.info({ silenceID: id }, 'silence expired');
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = '';
  });
}
