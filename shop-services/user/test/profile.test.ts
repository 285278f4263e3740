import test from 'ava';
import { randomUUID } from 'node:crypto';
import type { AuthUser } from '@lantern/shop-common';
import { startHarness, newEmail, type Harness } from './harness.js';

let h: Harness;
test.before(async () => {
  h = await startHarness();
});
test.after.always(() => h?.stop());

async function newUser(name = 'Grace'): Promise<AuthUser & { email: string }> {
  const email = newEmail();
  const r = await h.call('POST', '/auth/register', { body: { email, password: 'a long enough password', name } });
  if (r.status !== 201) throw new Error(`register failed: ${r.status} ${JSON.stringify(r.body)}`);
  return { id: r.body.user.id, role: 'customer', email };
}

const home = { label: 'home', recipient: 'Grace Hopper', line1: '1 Navy Way', city: 'Arlington', postalCode: '22201', country: 'us' };

test('profile get and update; email change conflicts with a taken email → 409', async (t) => {
  const u = await newUser();
  const me = await h.call('GET', '/users/me', { user: u });
  t.is(me.status, 200);
  t.is(me.body.name, 'Grace');
  const upd = await h.call('PATCH', '/users/me', { user: u, body: { name: '  Grace B. Hopper ' } });
  t.is(upd.status, 200);
  t.is(upd.body.name, 'Grace B. Hopper');
  const other = await newUser();
  const clash = await h.call('PATCH', '/users/me', { user: u, body: { email: other.email } });
  t.is(clash.status, 409);
  const empty = await h.call('PATCH', '/users/me', { user: u, body: {} });
  t.is(empty.status, 400);
  t.regex(empty.body.error.message, /name and\/or email/);
});

test('SQL injection strings are stored and returned literally', async (t) => {
  const evil = "Robert'); DROP TABLE users;--";
  const u = await newUser(evil);
  t.is((await h.call('GET', '/users/me', { user: u })).body.name, evil);
  const a = await h.call('POST', '/users/me/addresses', { user: u, body: { ...home, line1: "1' OR '1'='1", city: '%_\\' } });
  t.is(a.status, 201);
  const back = await h.call('GET', `/users/me/addresses/${a.body.id}`, { user: u });
  t.is(back.body.line1, "1' OR '1'='1");
  t.is(back.body.city, '%_\\');
  // the tables are still there
  const row = await h.service.db.knex('users').where({ id: u.id }).first();
  t.is(row?.name, evil);
});

test('addresses: create, list, read, update, delete; owner only', async (t) => {
  const u = await newUser();
  const created = await h.call('POST', '/users/me/addresses', { user: u, body: home });
  t.is(created.status, 201);
  t.is(created.body.country, 'US');
  t.is(created.body.line2, null);
  const id = created.body.id as string;

  const list = await h.call('GET', '/users/me/addresses', { user: u });
  t.deepEqual(list.body.items.map((a: { id: string }) => a.id), [id]);

  const upd = await h.call('PATCH', `/users/me/addresses/${id}`, { user: u, body: { line2: 'Suite 4', city: 'Washington' } });
  t.is(upd.status, 200);
  t.like(upd.body, { line2: 'Suite 4', city: 'Washington', line1: '1 Navy Way' });

  // someone else cannot see, change or delete it, and cannot tell it exists
  const intruder = await newUser();
  t.is((await h.call('GET', `/users/me/addresses/${id}`, { user: intruder })).status, 404);
  t.is((await h.call('PATCH', `/users/me/addresses/${id}`, { user: intruder, body: { city: 'X' } })).status, 404);
  t.is((await h.call('DELETE', `/users/me/addresses/${id}`, { user: intruder })).status, 404);
  t.deepEqual((await h.call('GET', '/users/me/addresses', { user: intruder })).body.items, []);

  t.is((await h.call('DELETE', `/users/me/addresses/${id}`, { user: u })).status, 204);
  const gone = await h.call('GET', `/users/me/addresses/${id}`, { user: u });
  t.is(gone.status, 404);
  t.is(gone.body.error.code, 'address_not_found');
});

test('bad input answers 4xx naming the field, never 500', async (t) => {
  const u = await newUser();
  const missing = await h.call('POST', '/auth/register', { body: { email: newEmail() } });
  t.is(missing.status, 400);
  t.deepEqual(missing.body.error.details.map((d: { path: string }) => d.path).sort(), ['body.name', 'body.password']);

  const types = await h.call('POST', '/auth/register', { body: { email: 'not-an-email', password: 12345678, name: ['x'] } });
  t.is(types.status, 400);
  t.deepEqual(types.body.error.details.map((d: { path: string }) => d.path).sort(), ['body.email', 'body.name', 'body.password']);

  const short = await h.call('POST', '/auth/register', { body: { email: newEmail(), password: 'short', name: 'x' } });
  t.regex(short.body.error.message, /body\.password: must be at least 8 characters/);

  const extra = await h.call('POST', '/auth/register', { body: { email: newEmail(), password: 'long enough pw', name: 'x', role: 'admin' } });
  t.is(extra.status, 400);
  t.regex(extra.body.error.message, /role/);

  const country = await h.call('POST', '/users/me/addresses', { user: u, body: { ...home, country: 'USA' } });
  t.is(country.status, 400);
  t.is(country.body.error.details[0].path, 'body.country');

  const badId = await h.call('GET', '/users/me/addresses/42', { user: u });
  t.is(badId.status, 400);
  t.is(badId.body.error.details[0].path, 'params.id');
  t.is((await h.call('GET', `/users/me/addresses/${randomUUID()}`, { user: u })).status, 404);

  const malformed = await h.call('POST', '/auth/login', { rawBody: '{"email":' });
  t.is(malformed.status, 400);
  t.is(malformed.body.error.code, 'malformed_json');

  const huge = await h.call('POST', '/auth/register', { body: { email: newEmail(), password: 'long enough pw', name: 'x'.repeat(20_000) } });
  t.is(huge.status, 413);
  t.regex(huge.body.error.message, /exceeds/);

  const query = await h.call('GET', '/users?limit=abc', { user: { id: u.id, role: 'admin' } });
  t.is(query.status, 400);
  t.is(query.body.error.details[0].path, 'query.limit');

  const longPw = await h.call('POST', '/auth/login', { body: { email: u.email, password: 'p'.repeat(300) } });
  t.is(longPw.status, 400);
});

test('password change signs out every session and needs the current password', async (t) => {
  const email = newEmail();
  const reg = await h.call('POST', '/auth/register', { body: { email, password: 'first password!', name: 'P' } });
  const u: AuthUser = { id: reg.body.user.id, role: 'customer' };
  const wrong = await h.call('POST', '/users/me/password', { user: u, body: { currentPassword: 'nope', newPassword: 'second password!' } });
  t.is(wrong.status, 401);
  t.is((await h.call('POST', '/users/me/password', { user: u, body: { currentPassword: 'first password!', newPassword: 'second password!' } })).status, 204);
  t.is((await h.call('POST', '/auth/refresh', { body: { refreshToken: reg.body.refreshToken } })).status, 401);
  t.is((await h.call('POST', '/auth/login', { body: { email, password: 'second password!' } })).status, 200);
});
