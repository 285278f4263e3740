import { context, propagation } from '@opentelemetry/api';
import type { Knex } from 'knex';
import { observeWithExemplar } from '@lantern/sdk';
import { claimEvent, PROCESSED_EVENTS_TABLE, SHOP_EVENTS, typedHandler, type EventEnvelope, type EventHandler, type Logger } from '@lantern/shop-common';
import type { ChannelName, EmailMessage } from './channels/types.js';
import type { DeliverySink } from './dispatcher.js';
import { deliveryLatencySeconds, notificationEventsTotal, notificationsSentTotal } from './metrics.js';
import type { DeliveryRow, DeliveryStatus } from './store.js';
import { NOTIFIABLE_TYPES, renderNotification, type NotifiableEvents, type NotifiableType, type RenderedNotification, type TemplateContext } from './templates.js';

export interface IngestDeps {
  knex: Knex;
  /** The consumer group: the processed-event claim is per group. */
  groupId: string;
  templates: TemplateContext;
  emailEnabled: boolean;
  smsEnabled: boolean;
  logger: Logger;
  /** The delivery dispatcher: takes over the email/SMS rows written (claimed, or pending with a wake-up). */
  dispatcher: DeliverySink;
}

export type IngestOutcome = 'notified' | 'duplicate' | 'ignored';

/** A delivery row decided in code: the in-app row, and email (and SMS when it is off) pending or skipped. */
interface PlannedDelivery {
  channel: ChannelName;
  status: DeliveryStatus;
  reason: string | null;
  recipient: string | null;
  message: EmailMessage | null;
}

type AnyNotifiable = NotifiableEvents[NotifiableType];

function emailDelivery(data: AnyNotifiable, rendered: RenderedNotification, enabled: boolean): PlannedDelivery {
  if (!enabled) return { channel: 'email', status: 'skipped', reason: 'email_not_configured', recipient: null, message: null };
  if (!data.email) return { channel: 'email', status: 'skipped', reason: 'no_email_address', recipient: null, message: null };
  const message: EmailMessage = { to: data.email, subject: rendered.subject, text: rendered.text, html: rendered.html };
  return { channel: 'email', status: 'pending', reason: null, recipient: data.email, message };
}

/**
 * The whole of an event's bookkeeping in one round trip instead of six (BEGIN, claim, opt-in read,
 * in-app row, deliveries, COMMIT); one statement is atomic like the transaction it replaces:
 * - `claim`: the processed-event claim, as shop-common's claimEvent writes it; a concurrent claim
 *   of the same event waits for this one and then finds the conflict;
 * - `n`: the in-app message, only if the claim was new; its event_id is unique too, so a replay
 *   after the claims were pruned is still a duplicate;
 * - `sms`: the SMS row when SMS is on (text given): pending for a user who opted in with a number;
 * - `d`: one delivery row per channel, only if the in-app row was new. Pending rows are written
 *   already claimed (sending, attempt 1, lease) when the dispatcher reserved room to send them now.
 * No row back means a duplicate. No `?` may appear in this text other than as a binding.
 */
const STORE_EVENT_SQL = `
WITH claim AS (
  INSERT INTO ?? (consumer_group, event_id) VALUES (?, ?)
  ON CONFLICT (consumer_group, event_id) DO NOTHING
  RETURNING event_id
), n AS (
  INSERT INTO notifications (user_id, event_id, event_type, order_id, title, body)
  SELECT ?, claim.event_id::uuid, ?, ?, ?, ? FROM claim
  ON CONFLICT (event_id) DO NOTHING
  RETURNING event_id, user_id, event_type, order_id
), sms AS (
  SELECT 'sms' AS channel,
         CASE WHEN p.sms_phone IS NULL THEN 'skipped' ELSE 'pending' END AS status,
         CASE WHEN p.sms_phone IS NULL THEN 'not_opted_in' END AS reason,
         p.sms_phone AS recipient,
         CASE WHEN p.sms_phone IS NOT NULL THEN jsonb_build_object('to', p.sms_phone, 'text', t.text) END AS message
    FROM (SELECT ?::text AS text) t
    LEFT JOIN preferences p ON p.user_id = ? AND p.sms_phone <> ''
   WHERE t.text IS NOT NULL
), planned AS (
  SELECT * FROM jsonb_to_recordset(?::jsonb) AS r(channel text, status text, reason text, recipient text, message jsonb)
  UNION ALL
  SELECT * FROM sms
), d AS (
  INSERT INTO deliveries (event_id, channel, event_type, user_id, order_id, status, reason, recipient, message, attempts, next_attempt_at, trace_context, event_at, sent_at)
  SELECT n.event_id, p.channel, n.event_type, n.user_id, n.order_id,
         CASE WHEN c.send_now THEN 'sending' ELSE p.status END, p.reason, p.recipient, p.message,
         CASE WHEN c.send_now THEN 1 ELSE 0 END,
         CASE WHEN c.send_now THEN now() + (? * interval '1 millisecond') ELSE now() END,
         ?::jsonb, ?, CASE WHEN p.status = 'sent' THEN now() END
    FROM n
   CROSS JOIN planned p
   CROSS JOIN LATERAL (SELECT p.status = 'pending' AND ?::boolean AS send_now) c
  RETURNING *
)
SELECT * FROM d`;

/** Writes the event's claim, in-app message and delivery rows (one statement); [] when it was a duplicate. */
async function storeEvent(deps: IngestDeps, type: NotifiableType, event: EventEnvelope<AnyNotifiable>, rendered: RenderedNotification): Promise<DeliveryRow[]> {
  const data = event.data;
  const traceContext: Record<string, string> = {};
  propagation.inject(context.active(), traceContext);
  const email = emailDelivery(data, rendered, deps.emailEnabled);
  const planned: PlannedDelivery[] = [{ channel: 'in_app', status: 'sent', reason: null, recipient: null, message: null }, email];
  if (!deps.smsEnabled) planned.push({ channel: 'sms', status: 'skipped', reason: 'sms_disabled', recipient: null, message: null });
  // rows that may come out pending: email (known here) and SMS (known once the opt-in is read)
  const slots = (email.status === 'pending' ? 1 : 0) + (deps.smsEnabled ? 1 : 0);
  const sendNow = slots > 0 && deps.dispatcher.reserve(slots);
  let rows: DeliveryRow[] = [];
  try {
    ({ rows } = (await deps.knex.raw(STORE_EVENT_SQL, [
      PROCESSED_EVENTS_TABLE,
      deps.groupId,
      event.id,
      data.userId,
      type,
      data.orderId,
      rendered.title,
      rendered.body,
      deps.smsEnabled ? rendered.sms : null,
      data.userId,
      JSON.stringify(planned),
      deps.dispatcher.leaseMs,
      JSON.stringify(traceContext),
      new Date(event.occurredAt),
      sendNow,
    ])) as { rows: DeliveryRow[] });
  } finally {
    if (sendNow) deps.dispatcher.handOver(rows, slots);
  }
  if (!sendNow && rows.some((r) => r.status === 'pending')) deps.dispatcher.wake();
  return rows;
}

/**
 * Turns one event into its notifications, exactly once per event: atomically it claims the event
 * (processed_events), writes the in-app message and one delivery row per channel (email and SMS
 * pending, or already claimed for sending, with the rendered message; or `skipped` with the reason).
 * A redelivered event finds its claim and does nothing; the sends happen in the dispatcher, from the
 * rows, never in this handler.
 */
export async function ingestEvent<T extends NotifiableType>(deps: IngestDeps, type: T, event: EventEnvelope<NotifiableEvents[T]>): Promise<IngestOutcome> {
  const rendered = renderNotification(type, event.data, deps.templates);
  const eventAt = new Date(event.occurredAt);
  let outcome: IngestOutcome;
  let rows: DeliveryRow[] = [];
  if (!rendered) {
    // nothing to send: the claim alone (one statement, no transaction needed)
    outcome = (await claimEvent(deps.knex, deps.groupId, event.id)) ? 'ignored' : 'duplicate';
  } else {
    rows = await storeEvent(deps, type, event as EventEnvelope<AnyNotifiable>, rendered);
    outcome = rows.length > 0 ? 'notified' : 'duplicate';
  }

  notificationEventsTotal.inc({ type, outcome });
  for (const row of rows) {
    if (row.status === 'sent') {
      notificationsSentTotal.inc({ channel: row.channel, outcome: 'sent' });
      observeWithExemplar(deliveryLatencySeconds, { channel: row.channel }, Math.max(0, (Date.now() - eventAt.getTime()) / 1000));
    } else if (row.status === 'skipped') {
      notificationsSentTotal.inc({ channel: row.channel, outcome: 'skipped' });
      deps.logger.info({ eventId: event.id, type, channel: row.channel, reason: row.reason }, 'notification channel skipped');
    }
  }
  if (outcome === 'duplicate') deps.logger.info({ eventId: event.id, type }, 'event already processed; redelivery ignored');
  return outcome;
}

/** Handlers for createEventConsumer, one per notifiable type; invalid data is dead-lettered by typedHandler. */
export function notificationHandlers(deps: IngestDeps): Record<string, EventHandler> {
  const handlers: Record<string, EventHandler> = {};
  for (const type of NOTIFIABLE_TYPES) {
    handlers[type] = typedHandler(SHOP_EVENTS[type], async (event) => {
      await ingestEvent(deps, type, event as EventEnvelope<NotifiableEvents[typeof type]>);
    });
  }
  return handlers;
}
