import type { Knex } from 'knex';
import type { ChannelName } from './channels/types.js';

export interface NotificationView {
  id: string;
  userId: string;
  type: string;
  orderId: string | null;
  title: string;
  body: string;
  createdAt: string;
  readAt: string | null;
}

interface NotificationRow {
  id: string;
  seq: string;
  user_id: string;
  event_id: string;
  event_type: string;
  order_id: string | null;
  title: string;
  body: string;
  created_at: Date;
  read_at: Date | null;
}

export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'skipped';

export interface DeliveryView {
  eventId: string;
  channel: ChannelName;
  eventType: string;
  userId: string;
  orderId: string | null;
  status: DeliveryStatus;
  reason: string | null;
  /** Masked: `j***@example.com`, `+49******4567`. */
  recipient: string | null;
  attempts: number;
  lastError: string | null;
  providerMessageId: string | null;
  createdAt: string;
  sentAt: string | null;
}

export interface DeliveryRow {
  event_id: string;
  channel: ChannelName;
  event_type: string;
  user_id: string;
  order_id: string | null;
  status: DeliveryStatus;
  reason: string | null;
  recipient: string | null;
  message: unknown;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  provider_message_id: string | null;
  trace_context: Record<string, string>;
  event_at: Date;
  created_at: Date;
  updated_at: Date;
  sent_at: Date | null;
}

export interface Preferences {
  userId: string;
  smsPhone: string | null;
  updatedAt: string | null;
}

/** Hides most of an address or number: enough to recognise it, not enough to harvest it. */
export function maskRecipient(recipient: string | null): string | null {
  if (recipient === null) return null;
  const at = recipient.lastIndexOf('@');
  if (at > 0) return `${recipient[0]}***${recipient.slice(at)}`;
  if (recipient.length > 6) return `${recipient.slice(0, 3)}${'*'.repeat(recipient.length - 7)}${recipient.slice(-4)}`;
  return '***';
}

function toView(r: NotificationRow): NotificationView {
  return {
    id: r.id,
    userId: r.user_id,
    type: r.event_type,
    orderId: r.order_id,
    title: r.title,
    body: r.body,
    createdAt: r.created_at.toISOString(),
    readAt: r.read_at ? r.read_at.toISOString() : null,
  };
}

export function deliveryView(r: DeliveryRow): DeliveryView {
  return {
    eventId: r.event_id,
    channel: r.channel,
    eventType: r.event_type,
    userId: r.user_id,
    orderId: r.order_id,
    status: r.status,
    reason: r.reason,
    recipient: maskRecipient(r.recipient),
    attempts: r.attempts,
    lastError: r.last_error,
    providerMessageId: r.provider_message_id,
    createdAt: r.created_at.toISOString(),
    sentAt: r.sent_at ? r.sent_at.toISOString() : null,
  };
}

export interface ListQuery {
  /** undefined: every user's (admins only). */
  userId: string | undefined;
  unreadOnly: boolean;
  limit: number;
  /** `seq` of the last item of the previous page. */
  cursor: string | undefined;
}

/** Reads and writes of in-app notifications, preferences and the delivery records. */
export class NotificationStore {
  constructor(private readonly knex: Knex) {}

  /** Newest first, keyset-paginated on `seq`. */
  async list(q: ListQuery): Promise<{ items: NotificationView[]; nextCursor: string | null }> {
    const query = this.knex<NotificationRow>('notifications').select('*').orderBy('seq', 'desc').limit(q.limit + 1);
    if (q.userId !== undefined) query.where('user_id', q.userId);
    if (q.unreadOnly) query.whereNull('read_at');
    if (q.cursor !== undefined) query.where('seq', '<', q.cursor);
    const rows = (await query) as NotificationRow[];
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { items: page.map(toView), nextCursor: rows.length > q.limit && last ? String(last.seq) : null };
  }

  async unreadCount(userId: string | undefined): Promise<number> {
    const query = this.knex('notifications').whereNull('read_at').count<{ count: string }[]>({ count: '*' });
    if (userId !== undefined) query.where('user_id', userId);
    const [row] = await query;
    return Number(row?.count ?? 0);
  }

  /** Marks the user's own notification read (keeping the first read time); undefined if it is not theirs or unknown. */
  async markRead(userId: string, id: string): Promise<NotificationView | undefined> {
    const [row] = (await this.knex('notifications')
      .where({ id, user_id: userId })
      .update({ read_at: this.knex.raw('coalesce(read_at, now())') })
      .returning('*')) as NotificationRow[];
    return row ? toView(row) : undefined;
  }

  async markAllRead(userId: string): Promise<number> {
    return this.knex('notifications').where({ user_id: userId }).whereNull('read_at').update({ read_at: this.knex.fn.now() });
  }

  async preferences(userId: string): Promise<Preferences> {
    const row = (await this.knex('preferences').where({ user_id: userId }).first()) as { sms_phone: string | null; updated_at: Date } | undefined;
    return { userId, smsPhone: row?.sms_phone ?? null, updatedAt: row ? row.updated_at.toISOString() : null };
  }

  async setPreferences(userId: string, smsPhone: string | null): Promise<Preferences> {
    const [row] = (await this.knex('preferences')
      .insert({ user_id: userId, sms_phone: smsPhone, updated_at: this.knex.fn.now() })
      .onConflict('user_id')
      .merge(['sms_phone', 'updated_at'])
      .returning(['sms_phone', 'updated_at'])) as { sms_phone: string | null; updated_at: Date }[];
    return { userId, smsPhone: row?.sms_phone ?? null, updatedAt: row ? row.updated_at.toISOString() : null };
  }

  async deliveries(q: { orderId?: string; eventId?: string; userId?: string; status?: DeliveryStatus; limit: number }): Promise<DeliveryView[]> {
    const query = this.knex<DeliveryRow>('deliveries').select('*').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'channel' }]).limit(q.limit);
    if (q.orderId !== undefined) query.where('order_id', q.orderId);
    if (q.eventId !== undefined) query.where('event_id', q.eventId);
    if (q.userId !== undefined) query.where('user_id', q.userId);
    if (q.status !== undefined) query.where('status', q.status);
    return ((await query) as DeliveryRow[]).map(deliveryView);
  }
}
