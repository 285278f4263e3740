// Acknowledgement through the signed link in a notification: GET shows who/what and asks the acknowledger's
// name; POST records it. Both verify the signature (notify/links.ts) — the link is the authorisation, so
// these routes are exempt from basic auth — and a forged, altered or expired link gets a 403 page.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { verifyAckLink, type AckLinkCheck } from '../notify/links.js';
import { esc, fmtTime, messagePage, page, type HtmlReply } from '../web/html.js';
import { readForm } from './body.js';
import type { ApiDeps, AlertGroupView } from './deps.js';
import { describe } from './http-error.js';
import type { ApiLimits } from './limits.js';
import type { ApiMetrics } from './metrics.js';

const MAX_NAME = 200;

const REASONS: Record<Exclude<AckLinkCheck, { ok: true }>['reason'], string> = {
  malformed: 'This acknowledgement link is incomplete or malformed. Open the link from the notification again, without changing it.',
  bad_signature: 'This acknowledgement link is not valid: its signature does not match (it was altered or not issued by this server).',
  expired: 'This acknowledgement link has expired. Acknowledge from a newer notification, or silence the alert instead.',
};

function send(ctx: Context, r: HtmlReply): void {
  ctx.status = r.status;
  ctx.set(r.headers);
  ctx.body = r.body;
}

function check(ctx: Context, deps: ApiDeps, q: { exp?: string | null; sig?: string | null }): AckLinkCheck {
  return verifyAckLink({ key: ctx.params.key ?? '', exp: q.exp ?? undefined, sig: q.sig ?? undefined }, deps.ackSecret, deps.clock.now());
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

async function findGroup(deps: ApiDeps, groupKey: string): Promise<AlertGroupView | undefined> {
  const d = deps.dispatcher?.();
  return d ? (await d.groups()).find((g) => g.groupKey === groupKey) : undefined;
}

async function ackPage(ctx: Context, deps: ApiDeps, groupKey: string, problem?: string): Promise<HtmlReply> {
  const group = await findGroup(deps, groupKey);
  const ack = await deps.stores.acks.get(groupKey);
  const now = deps.clock.now();
  const alerts = (group?.alerts ?? []).filter((a) => a.endsAt.getTime() > now.getTime());
  const what = alerts.length
    ? `<ul>${alerts.map((a) => `<li><strong>${esc(a.annotations.summary ?? a.labels.alertname ?? a.fingerprint)}</strong> <span class="muted">${esc(Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(' '))}</span></li>`).join('')}</ul>`
    : '<p class="muted">No firing alerts in this group right now (it may have resolved).</p>';
  const state = ack ? `<p class="notice">Already acknowledged by <strong>${esc(ack.by)}</strong> at ${esc(fmtTime(ack.at))}.</p>` : '';
  const action = `/ack/${encodeURIComponent(ctx.params.key ?? '')}?exp=${encodeURIComponent(str(ctx.query.exp) ?? '')}&sig=${encodeURIComponent(str(ctx.query.sig) ?? '')}`;
  const body = `<h1>Acknowledge alert group</h1>
<p>Group <span class="mono">${esc(groupKey)}</span>${group ? ` → receiver ${esc(group.receiver)}` : ''}</p>
${what}${state}
${problem ? `<p class="problem" role="alert">${esc(problem)}</p>` : ''}
<form method="post" action="${esc(action)}">
<label>Your name <input type="text" name="by" maxlength="${MAX_NAME}" required autofocus></label>
<button type="submit">Acknowledge</button>
</form>
<p class="muted">Acknowledging stops repeat notifications and escalation for this group until it resolves.</p>`;
  return page({ title: 'Acknowledge alert group', body }, problem ? 400 : 200);
}

export function ackRoutes(router: Router, deps: ApiDeps, limits: ApiLimits, metrics: ApiMetrics): void {
  router.get('/ack/:key', async (ctx) => {
    const v = check(ctx, deps, { exp: str(ctx.query.exp), sig: str(ctx.query.sig) });
    if (!v.ok) return send(ctx, messagePage('Acknowledgement link refused', REASONS[v.reason], 403));
    send(ctx, await ackPage(ctx, deps, v.groupKey));
  });

  router.post('/ack/:key', async (ctx) => {
    // verify before reading the body: a forged link costs nothing
    const v = check(ctx, deps, { exp: str(ctx.query.exp), sig: str(ctx.query.sig) });
    if (!v.ok) return send(ctx, messagePage('Acknowledgement link refused', REASONS[v.reason], 403));
    let form: URLSearchParams;
    try {
      form = await readForm(ctx, limits.maxFormBytes);
    } catch (err) {
      const { status, message } = describe(err);
      if (status >= 500) throw err;
      return send(ctx, messagePage('Acknowledgement not recorded', message, status));
    }
    const by = (form.get('by') ?? '').trim();
    if (by === '' || by.length > MAX_NAME || [...by].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127)) {
      return send(ctx, await ackPage(ctx, deps, v.groupKey, `by: give your name (1–${MAX_NAME} characters, no control characters)`));
    }
    const now = deps.clock.now();
    await deps.stores.acks.ack(v.groupKey, by, now);
    metrics.acks.inc();
    deps.logger.info({ groupKey: v.groupKey, by }, 'group acknowledged');
    // the notice goes out in the background: the acknowledger's page does not wait on Slack or SMTP
    void deps.onAck?.(v.groupKey, by).catch((err: unknown) => deps.logger.warn({ groupKey: v.groupKey, err: (err as Error).message }, 'acknowledgement notice not sent'));
    send(ctx, messagePage('Acknowledged', `Acknowledged by ${by} at ${fmtTime(now)}. Repeats and escalation stop until the group resolves.`, 200));
  });
}
