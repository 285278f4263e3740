import { context, propagation } from '@opentelemetry/api';
import type { Knex } from 'knex';
import { observeWithExemplar } from '@lantern/sdk';
import { claimEvent, SHOP_EVENTS, typedHandler, type EventEnvelope, type EventHandler, type Logger } from '@lantern/shop-common';
import type { ChannelName, EmailMessage, SmsMessage } from './channels/types.js';
import { deliveryLatencySeconds, notificationEventsTotal, notificationsSentTotal } from './metrics.js';
import type { DeliveryStatus } from './store.js';
import { NOTIFIABLE_TYPES, renderNotification, type NotifiableEvents, type NotifiableType, type RenderedNotification, type TemplateContext } from './templates.js';

export interface IngestDeps {
  knex: Knex;
  /** The consumer group: the processed-event claim is per group. */
  groupId: string;
  templates: TemplateContext;
  emailEnabled: boolean;
  smsEnabled: boolean;
  logger: Logger;
  /** Called after a commit that queued email or SMS deliveries (wakes the dispatcher). */
  onQueued(): void;
}

export type IngestOutcome = 'notified' | 'duplicate' | 'ignored';

interface DeliveryInsert {
  event_id: string;
  channel: ChannelName;
  event_type: string;
  user_id: string;
  order_id: string | null;
  status: DeliveryStatus;
  reason: string | null;
  recipient: string | null;
  message: string | null;
  trace_context: string;
  event_at: Date;
  sent_at?: Date;
}

type AnyNotifiable = NotifiableEvents[NotifiableType];

function emailDelivery(data: AnyNotifiable, rendered: RenderedNotification, enabled: boolean): Pick<DeliveryInsert, 'status' | 'reason' | 'recipient' | 'message'> {
  if (!enabled) return { status: 'skipped', reason: 'email_not_configured', recipient: null, message: null };
  if (!data.email) return { status: 'skipped', reason: 'no_email_address', recipient: null, message: null };
  const message: EmailMessage = { to: data.email, subject: rendered.subject, text: rendered.text, html: rendered.html };
  return { status: 'pending', reason: null, recipient: data.email, message: JSON.stringify(message) };
}

function smsDelivery(phone: string | null | undefined, rendered: RenderedNotification, enabled: boolean): Pick<DeliveryInsert, 'status' | 'reason' | 'recipient' | 'message'> {
  if (!enabled) return { status: 'skipped', reason: 'sms_disabled', recipient: null, message: null };
  if (!phone) return { status: 'skipped', reason: 'not_opted_in', recipient: null, message: null };
  const message: SmsMessage = { to: phone, text: rendered.sms };
  return { status: 'pending', reason: null, recipient: phone, message: JSON.stringify(message) };
}

/**
 * Turns one event into its notifications, exactly once per event: in one transaction it claims the
 * event (processed_events), writes the in-app message and one delivery row per channel (email and
 * SMS `pending` with the rendered message, or `skipped` with the reason). A redelivered event finds
 * its claim and does nothing; the sends themselves happen later in the dispatcher, from the rows.
 */
export async function ingestEvent<T extends NotifiableType>(deps: IngestDeps, type: T, event: EventEnvelope<NotifiableEvents[T]>): Promise<IngestOutcome> {
  const data = event.data as AnyNotifiable;
  const rendered = renderNotification(type, event.data, deps.templates);
  const traceContext: Record<string, string> = {};
  propagation.inject(context.active(), traceContext);
  const eventAt = new Date(event.occurredAt);

  const result = await deps.knex.transaction(async (trx) => {
    if (!(await claimEvent(trx, deps.groupId, event.id))) return { outcome: 'duplicate' as const, rows: [] };
    if (!rendered) return { outcome: 'ignored' as const, rows: [] };
    const phone = deps.smsEnabled
      ? ((await trx('preferences').where({ user_id: data.userId }).first('sms_phone')) as { sms_phone: string | null } | undefined)?.sms_phone
      : undefined;
    // The event id is unique here too: a replay after processed_events were pruned is still a duplicate.
    const inserted = (await trx('notifications')
      .insert({ user_id: data.userId, event_id: event.id, event_type: type, order_id: data.orderId, title: rendered.title, body: rendered.body })
      .onConflict('event_id')
      .ignore()
      .returning('id')) as unknown[];
    if (inserted.length === 0) return { outcome: 'duplicate' as const, rows: [] };
    const base = { event_id: event.id, event_type: type, user_id: data.userId, order_id: data.orderId, trace_context: JSON.stringify(traceContext), event_at: eventAt };
    const rows: DeliveryInsert[] = [
      { ...base, channel: 'in_app', status: 'sent', reason: null, recipient: null, message: null, sent_at: new Date() },
      { ...base, channel: 'email', ...emailDelivery(data, rendered, deps.emailEnabled) },
      { ...base, channel: 'sms', ...smsDelivery(phone, rendered, deps.smsEnabled) },
    ];
    await trx('deliveries').insert(rows);
    return { outcome: 'notified' as const, rows };
  });

  notificationEventsTotal.inc({ type, outcome: result.outcome });
  for (const row of result.rows) {
    if (row.status === 'sent') {
      notificationsSentTotal.inc({ channel: row.channel, outcome: 'sent' });
      observeWithExemplar(deliveryLatencySeconds, { channel: row.channel }, Math.max(0, (Date.now() - eventAt.getTime()) / 1000));
    } else if (row.status === 'skipped') {
      notificationsSentTotal.inc({ channel: row.channel, outcome: 'skipped' });
      deps.logger.info({ eventId: event.id, type, channel: row.channel, reason: row.reason }, 'notification channel skipped');
    }
  }
  if (result.outcome === 'duplicate') deps.logger.info({ eventId: event.id, type }, 'event already processed; redelivery ignored');
  if (result.rows.some((r) => r.status === 'pending')) deps.onQueued();
  return result.outcome;
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
