import { z } from 'zod';
import { defineRoute, docsOnly, ForbiddenError, NotFoundError, type AnyRoute } from '@lantern/shop-common';
import { E164 } from './channels/sms.js';
import { notificationConfigSchema } from './config.js';
import type { NotificationStore } from './store.js';

export interface RouteDeps {
  store: NotificationStore;
  defaultLimit: number;
  maxLimit: number;
}

/** Ids as the shop's events carry them: bounded, printable, no spaces. */
const entityId = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'may only contain letters, digits and . _ : -');

const notificationView = z.object({
  id: z.string(),
  userId: z.string(),
  type: z.string(),
  orderId: z.string().nullable(),
  title: z.string(),
  body: z.string(),
  createdAt: z.string(),
  readAt: z.string().nullable(),
});

const deliveryView = z.object({
  eventId: z.string(),
  channel: z.enum(['email', 'sms', 'in_app']),
  eventType: z.string(),
  userId: z.string(),
  orderId: z.string().nullable(),
  status: z.enum(['pending', 'sending', 'sent', 'failed', 'skipped']),
  reason: z.string().nullable(),
  recipient: z.string().nullable(),
  attempts: z.number(),
  lastError: z.string().nullable(),
  providerMessageId: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
});

const preferencesView = z.object({ userId: z.string(), smsPhone: z.string().nullable(), updatedAt: z.string().nullable() });

const bool = z.enum(['true', 'false'], { message: 'must be "true" or "false"' }).transform((v) => v === 'true');
/** The page cursor is the `seq` of the last item seen: digits only, bounded. */
const cursor = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be the nextCursor of a previous page');

export function notificationRoutes(deps: RouteDeps): AnyRoute[] {
  const { store } = deps;
  const limit = z.coerce.number({ message: 'must be a number' }).int().min(1).max(deps.maxLimit).default(deps.defaultLimit);

  return [
    defineRoute({
      method: 'GET',
      path: '/notifications',
      summary: "The user's in-app notifications, newest first (admins: anyone's with userId, or all)",
      tags: ['notifications'],
      auth: 'user',
      query: z.strictObject({ unread: bool.optional(), limit, cursor: cursor.optional(), userId: entityId.optional() }),
      response: z.object({ items: z.array(notificationView), nextCursor: z.string().nullable(), unreadCount: z.number() }),
      async handler({ query, user }) {
        let userId: string | undefined = user.id;
        if (user.role === 'admin') userId = query.userId;
        else if (query.userId !== undefined && query.userId !== user.id) throw new ForbiddenError("only admins may list another user's notifications");
        const page = await store.list({ userId, unreadOnly: query.unread ?? false, limit: query.limit, cursor: query.cursor });
        return { ...page, unreadCount: await store.unreadCount(userId) };
      },
    }),

    defineRoute({
      method: 'POST',
      path: '/notifications/read-all',
      summary: "Marks all the user's notifications read",
      tags: ['notifications'],
      auth: 'user',
      body: z.strictObject({}),
      response: z.object({ updated: z.number() }),
      async handler({ user }) {
        return { updated: await store.markAllRead(user.id) };
      },
    }),

    defineRoute({
      method: 'POST',
      path: '/notifications/:id/read',
      summary: 'Marks one of the user’s notifications read (another user’s: 404)',
      tags: ['notifications'],
      auth: 'user',
      params: z.strictObject({ id: z.uuid({ message: 'must be a notification id (UUID)' }) }),
      body: z.strictObject({}),
      response: notificationView,
      async handler({ params, user }) {
        const n = await store.markRead(user.id, params.id);
        // the same answer for "someone else's" and "unknown": ids are not confirmed to strangers
        if (!n) throw new NotFoundError(`notification ${params.id} not found`, 'notification_not_found');
        return n;
      },
    }),

    defineRoute({
      method: 'GET',
      path: '/notifications/preferences',
      summary: "The user's channel preferences (SMS is opt-in with a phone number)",
      tags: ['notifications'],
      auth: 'user',
      query: z.strictObject({}),
      response: preferencesView,
      async handler({ user }) {
        return store.preferences(user.id);
      },
    }),

    defineRoute({
      method: 'PUT',
      path: '/notifications/preferences',
      summary: 'Opts in to SMS with an E.164 phone number, or out with null',
      tags: ['notifications'],
      auth: 'user',
      body: z.strictObject({ smsPhone: z.string().max(16).regex(E164, 'must be an E.164 phone number like +4915112345678').nullable() }),
      response: preferencesView,
      async handler({ body, user }) {
        return store.setPreferences(user.id, body.smsPhone);
      },
    }),

    defineRoute({
      method: 'GET',
      path: '/notifications/deliveries',
      summary: 'Delivery records per event and channel (admin): status, attempts, last error',
      tags: ['notifications'],
      auth: 'admin',
      query: z
        .strictObject({
          orderId: entityId.optional(),
          eventId: z.uuid().optional(),
          userId: entityId.optional(),
          status: z.enum(['pending', 'sending', 'sent', 'failed', 'skipped']).optional(),
          limit,
        }),
      response: z.object({ items: z.array(deliveryView) }),
      async handler({ query }) {
        return { items: await store.deliveries(query) };
      },
    }),
  ];
}

/** The routes for documentation only (the gateway's /api/docs): their handlers cannot run. */
export const notificationRouteDocs: readonly AnyRoute[] = notificationRoutes(
  docsOnly<RouteDeps>('notification', {
    defaultLimit: notificationConfigSchema.shape.NOTIFICATIONS_DEFAULT_LIMIT.parse(undefined),
    maxLimit: notificationConfigSchema.shape.NOTIFICATIONS_MAX_LIMIT.parse(undefined),
  }),
);
