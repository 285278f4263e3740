// The HTTP API: own notifications only, unread filter, pages, read marks, preferences, admin
// deliveries, and a hostile corpus of inputs answered with 4xx naming the field.
import test from 'ava';
import { uniqueName } from '@lantern/testkit';
import type { AuthUser } from '@lantern/shop-common';
import { admin, deliver, envelope, orderPlaced, startService, statusChanged, type TestService } from './helpers.js';

let s: TestService;

test.before(async (t) => {
  const teardowns: (() => Promise<void> | void)[] = [];
  s = await startService({ teardown: (fn) => void teardowns.push(fn) }, { NOTIFICATIONS_DEFAULT_LIMIT: '3', NOTIFICATIONS_MAX_LIMIT: '5' });
  t.context = teardowns;
});

test.after.always(async (t) => {
  for (const fn of ((t.context as (() => Promise<void> | void)[]) ?? []).reverse()) await fn();
});

test.afterEach((t) => {
  t.deepEqual(s.telemetry.errors, [], 'no request may end in an unexpected error');
});

function customer(): AuthUser {
  return { id: uniqueName('user'), role: 'customer' };
}

/** `n` notifications for the user, oldest first; returns their order ids. */
async function seed(user: AuthUser, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      const data = orderPlaced({ userId: user.id });
      await deliver(s.svc, envelope('order.placed', data));
      ids.push(data.orderId);
    } else {
      const data = statusChanged('shipped', 'paid', { userId: user.id });
      await deliver(s.svc, envelope('order.shipped', data));
      ids.push(data.orderId);
    }
  }
  return ids;
}

test('a user lists only their own notifications, newest first, in bounded pages', async (t) => {
  const me = customer();
  const other = customer();
  const mine = await seed(me, 5);
  await seed(other, 2);
  const first = await s.call('GET', '/notifications', { user: me });
  t.is(first.status, 200);
  t.is(first.body.items.length, 3, 'the configured default limit');
  t.is(first.body.unreadCount, 5);
  t.truthy(first.body.nextCursor);
  const second = await s.call('GET', `/notifications?limit=5&cursor=${first.body.nextCursor}`, { user: me });
  t.is(second.body.items.length, 2);
  t.is(second.body.nextCursor, null);
  const all = [...first.body.items, ...second.body.items];
  t.deepEqual(all.map((n: { orderId: string }) => n.orderId), [...mine].reverse());
  t.true(all.every((n: { userId: string }) => n.userId === me.id));
  const own = await s.call('GET', `/notifications?userId=${me.id}`, { user: me });
  t.is(own.status, 200);
});

test('mark one read (idempotent), filter unread, mark all read', async (t) => {
  const me = customer();
  await seed(me, 4);
  const list = await s.call('GET', '/notifications?limit=5', { user: me });
  const target = list.body.items[1];
  const read = await s.call('POST', `/notifications/${target.id}/read`, { user: me });
  t.is(read.status, 200);
  t.is(read.body.id, target.id);
  t.truthy(read.body.readAt);
  const again = await s.call('POST', `/notifications/${target.id}/read`, { user: me });
  t.is(again.body.readAt, read.body.readAt, 'the first read time is kept');
  const unread = await s.call('GET', '/notifications?unread=true&limit=5', { user: me });
  t.is(unread.body.items.length, 3);
  t.false(unread.body.items.some((n: { id: string }) => n.id === target.id));
  t.is(unread.body.unreadCount, 3);
  const all = await s.call('POST', '/notifications/read-all', { user: me });
  t.deepEqual(all.body, { updated: 3 });
  const none = await s.call('GET', '/notifications?unread=true', { user: me });
  t.deepEqual([none.body.items, none.body.unreadCount], [[], 0]);
});

test("another user's notification: 404 on read, untouched, not listed; a customer may not list another's", async (t) => {
  const victim = customer();
  const attacker = customer();
  await seed(victim, 1);
  const [n] = (await s.call('GET', '/notifications', { user: victim })).body.items;
  const res = await s.call('POST', `/notifications/${n.id}/read`, { user: attacker });
  t.is(res.status, 404);
  t.is(res.body.error.code, 'notification_not_found');
  const unknown = await s.call('POST', '/notifications/00000000-0000-4000-8000-000000000000/read', { user: attacker });
  t.deepEqual([unknown.status, unknown.body.error.code], [404, 'notification_not_found'], 'same answer as for an unknown id');
  t.is((await s.call('GET', '/notifications', { user: victim })).body.items[0].readAt, null);
  await s.call('POST', '/notifications/read-all', { user: attacker });
  t.is((await s.call('GET', '/notifications', { user: victim })).body.unreadCount, 1);
  t.deepEqual((await s.call('GET', '/notifications', { user: attacker })).body.items, []);
  const snoop = await s.call('GET', `/notifications?userId=${victim.id}`, { user: attacker });
  t.is(snoop.status, 403);
});

test('admins list anyone’s (userId) and see delivery records per channel', async (t) => {
  const user = customer();
  const [orderId] = await seed(user, 1);
  const list = await s.call('GET', `/notifications?userId=${user.id}`, { user: admin });
  t.is(list.body.items.length, 1);
  const d = await s.call('GET', `/notifications/deliveries?orderId=${orderId}`, { user: admin });
  t.is(d.status, 200);
  t.deepEqual(d.body.items.map((x: { channel: string; status: string; reason: string | null }) => [x.channel, x.status, x.reason]), [
    ['email', 'skipped', 'email_not_configured'],
    ['in_app', 'sent', null],
    ['sms', 'skipped', 'not_opted_in'],
  ]);
  t.is((await s.call('GET', `/notifications/deliveries?orderId=${orderId}`, { user })).status, 403);
});

test('SMS preferences: opt in with an E.164 number, opt out with null; own only', async (t) => {
  const me = customer();
  t.like((await s.call('GET', '/notifications/preferences', { user: me })).body, { userId: me.id, smsPhone: null, updatedAt: null });
  const put = await s.call('PUT', '/notifications/preferences', { user: me, body: { smsPhone: '+4915112345678' } });
  t.is(put.status, 200);
  t.like(put.body, { userId: me.id, smsPhone: '+4915112345678' });
  t.like((await s.call('GET', '/notifications/preferences', { user: me })).body, { smsPhone: '+4915112345678' });
  t.like((await s.call('GET', '/notifications/preferences', { user: customer() })).body, { smsPhone: null });
  t.like((await s.call('PUT', '/notifications/preferences', { user: me, body: { smsPhone: null } })).body, { smsPhone: null });
});

test('hostile input: 400 naming the field, 401 without a user, never a 500', async (t) => {
  const me = customer();
  const cases: [string, string, unknown, number, string | undefined][] = [
    ['GET', '/notifications?limit=0', undefined, 400, 'query.limit'],
    ['GET', '/notifications?limit=-1', undefined, 400, 'query.limit'],
    ['GET', '/notifications?limit=6', undefined, 400, 'query.limit'],
    ['GET', '/notifications?limit=1e308', undefined, 400, 'query.limit'],
    ['GET', '/notifications?limit=abc', undefined, 400, 'query.limit'],
    ['GET', '/notifications?limit=1&limit=2', undefined, 400, 'query.limit'],
    ['GET', '/notifications?unread=yes', undefined, 400, 'query.unread'],
    ['GET', '/notifications?unread[$ne]=1', undefined, 400, undefined],
    ['GET', '/notifications?cursor=abc', undefined, 400, 'query.cursor'],
    ['GET', "/notifications?cursor=1'%20OR%201=1", undefined, 400, 'query.cursor'],
    ['GET', `/notifications?cursor=${'9'.repeat(40)}`, undefined, 400, 'query.cursor'],
    ['GET', '/notifications?cursor=-5', undefined, 400, 'query.cursor'],
    ['GET', '/notifications?sort=evil', undefined, 400, 'query'],
    ['GET', `/notifications?userId=${'x'.repeat(500)}`, undefined, 400, 'query.userId'],
    ['GET', '/notifications?userId=%00%ff', undefined, 400, 'query.userId'],
    ['POST', '/notifications/not-a-uuid/read', undefined, 400, 'params.id'],
    ['POST', `/notifications/${'%27'.repeat(50)}/read`, undefined, 400, 'params.id'],
    ['POST', '/notifications/00000000-0000-4000-8000-000000000000/read', { extra: 1 }, 400, 'body'],
    ['POST', '/notifications/read-all', [1, 2], 400, undefined],
    ['PUT', '/notifications/preferences', { smsPhone: '12345' }, 400, 'body.smsPhone'],
    ['PUT', '/notifications/preferences', { smsPhone: '+1'.padEnd(200, '5') }, 400, 'body.smsPhone'],
    ['PUT', '/notifications/preferences', { smsPhone: { $gt: '' } }, 400, 'body.smsPhone'],
    ['PUT', '/notifications/preferences', {}, 400, 'body.smsPhone'],
    ['PUT', '/notifications/preferences', { smsPhone: null, admin: true }, 400, 'body'],
  ];
  for (const [method, path, body, status, field] of cases) {
    const res = await s.call(method, path, { user: me, ...(body !== undefined ? { body } : {}) });
    t.is(res.status, status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 60)}`);
    if (field) t.true(res.body.error.details.some((d: { path: string }) => d.path.startsWith(field)), `${method} ${path} names ${field}: ${JSON.stringify(res.body.error.details)}`);
  }
  const deep = await s.call('PUT', '/notifications/preferences', { user: me, rawBody: `{"smsPhone":${'['.repeat(5000)}${']'.repeat(5000)}}` });
  t.is(deep.status, 400);
  const broken = await s.call('PUT', '/notifications/preferences', { user: me, rawBody: '{"smsPhone": "+49' });
  t.is(broken.status, 400);
  t.is((await s.call('GET', '/notifications', { user: null })).status, 401);
  t.is((await s.call('DELETE', '/notifications', { user: me })).status, 405);
});
