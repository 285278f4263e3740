import test from 'ava';
import { SignJWT } from 'jose';
import { createAccessTokenVerifier } from '@lantern/shop-common';
import { startHarness, newEmail, JWT_SECRET, INTERNAL_SECRET, type Harness } from './harness.js';

let h: Harness;
test.before(async () => {
  h = await startHarness({ LOGIN_MAX_FAILURES: '3', LOGIN_LOCKOUT_SECONDS: '120' });
});
test.after.always(() => h?.stop());

const password = 'correct horse battery';

async function register(email = newEmail()) {
  const r = await h.call('POST', '/auth/register', { body: { email, password, name: 'Ada' } });
  if (r.status !== 201) throw new Error(`register failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { user: { id: string; email: string; role: string }; accessToken: string; refreshToken: string };
}

test('register issues a verifiable access token and a refresh token; password hash never returned', async (t) => {
  const email = newEmail('Mixed.Case');
  const r = await h.call('POST', '/auth/register', { body: { email: email.toUpperCase(), password, name: 'Ada Lovelace' } });
  t.is(r.status, 201);
  t.is(r.body.user.email, email.toLowerCase());
  t.is(r.body.user.role, 'customer');
  t.is(r.body.tokenType, 'Bearer');
  t.is(r.body.expiresIn, 900);
  t.false(JSON.stringify(r.body).includes('argon2'));
  const claims = await createAccessTokenVerifier(JWT_SECRET).verify(r.body.accessToken);
  t.like(claims, { id: r.body.user.id, role: 'customer', email: email.toLowerCase() });
  // the refresh token is stored hashed, never as issued
  const stored = await h.service.db.knex('refresh_tokens').where({ user_id: r.body.user.id }).pluck('token_hash');
  t.is(stored.length, 1);
  t.not(stored[0], r.body.refreshToken);

  const dup = await h.call('POST', '/auth/register', { body: { email, password, name: 'Other' } });
  t.is(dup.status, 409);
  t.is(dup.body.error.code, 'email_taken');
});

test('login: right password → tokens; wrong password and unknown email → the same 401', async (t) => {
  const { user } = await register();
  const ok = await h.call('POST', '/auth/login', { body: { email: user.email, password } });
  t.is(ok.status, 200);
  t.is(ok.body.user.id, user.id);
  const wrong = await h.call('POST', '/auth/login', { body: { email: user.email, password: 'nope nope nope' } });
  const unknown = await h.call('POST', '/auth/login', { body: { email: newEmail('ghost'), password } });
  t.is(wrong.status, 401);
  t.is(unknown.status, 401);
  t.deepEqual(wrong.body.error, unknown.body.error);
});

test('refresh rotates; reusing the old token revokes the whole family', async (t) => {
  const first = await register();
  const second = await h.call('POST', '/auth/refresh', { body: { refreshToken: first.refreshToken } });
  t.is(second.status, 200);
  t.not(second.body.refreshToken, first.refreshToken);
  t.is(second.body.user.id, first.user.id);

  const third = await h.call('POST', '/auth/refresh', { body: { refreshToken: second.body.refreshToken } });
  t.is(third.status, 200);

  // replay of a rotated token: refused, and the latest (legitimately issued) token dies with it
  const replay = await h.call('POST', '/auth/refresh', { body: { refreshToken: first.refreshToken } });
  t.is(replay.status, 401);
  t.is(replay.body.error.code, 'refresh_token_reused');
  const latest = await h.call('POST', '/auth/refresh', { body: { refreshToken: third.body.refreshToken } });
  t.is(latest.status, 401);

  // another login of the same user (another family) is unaffected
  const other = await h.call('POST', '/auth/login', { body: { email: first.user.email, password } });
  t.is((await h.call('POST', '/auth/refresh', { body: { refreshToken: other.body.refreshToken } })).status, 200);

  const bogus = await h.call('POST', '/auth/refresh', { body: { refreshToken: 'x'.repeat(43) } });
  t.is(bogus.status, 401);
  t.is(bogus.body.error.code, 'refresh_token_invalid');
});

test('logout revokes the session; logging out twice is fine', async (t) => {
  const s = await register();
  t.is((await h.call('POST', '/auth/logout', { body: { refreshToken: s.refreshToken } })).status, 204);
  t.is((await h.call('POST', '/auth/logout', { body: { refreshToken: s.refreshToken } })).status, 204);
  const r = await h.call('POST', '/auth/refresh', { body: { refreshToken: s.refreshToken } });
  t.is(r.status, 401);
});

test('brute force: after 3 failures from one IP the account is locked there (429 + Retry-After), even for the right password', async (t) => {
  const { user } = await register();
  const from = (ip: string) => ({ 'x-forwarded-for': `203.0.113.99, ${ip}` });
  for (let i = 0; i < 3; i++) {
    const r = await h.call('POST', '/auth/login', { body: { email: user.email, password: `guess-${i}-wrong` }, headers: from('198.51.100.7') });
    t.is(r.status, 401);
  }
  const locked = await h.call('POST', '/auth/login', { body: { email: user.email, password }, headers: from('198.51.100.7') });
  t.is(locked.status, 429);
  t.is(locked.body.error.code, 'login_locked');
  const retryAfter = Number(locked.headers.get('retry-after'));
  t.true(retryAfter > 0 && retryAfter <= 120);
  // the owner on another network can still sign in
  const elsewhere = await h.call('POST', '/auth/login', { body: { email: user.email, password }, headers: from('192.0.2.10') });
  t.is(elsewhere.status, 200);
});

test('service auth: no token, expired, tampered or wrong-secret tokens → 401; access tokens are not service tokens', async (t) => {
  const s = await register();
  t.is((await h.call('GET', '/users/me', { token: null })).status, 401);
  t.is((await h.call('POST', '/auth/login', { token: null, body: { email: s.user.email, password } })).status, 401);
  t.is((await h.call('GET', '/users/me', { token: s.accessToken })).status, 401);

  const key = new TextEncoder().encode(INTERNAL_SECRET);
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({ typ: 'internal', role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('shop-gateway').setAudience('shop-user').setSubject(s.user.id).setIssuedAt(now - 300).setExpirationTime(now - 120).sign(key);
  const r = await h.call('GET', '/users/me', { token: expired });
  t.is(r.status, 401);
  t.is(r.body.error.code, 'service_token_expired');

  // promote ourselves to admin in the payload, keep the signature: rejected
  const valid = await new SignJWT({ typ: 'internal', role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('shop-gateway').setAudience('shop-user').setSubject(s.user.id).setExpirationTime('1m').sign(key);
  const [hd, pl, sig] = valid.split('.');
  const payload = { ...JSON.parse(Buffer.from(pl ?? '', 'base64url').toString()), role: 'admin' };
  const tampered = `${hd}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
  t.is((await h.call('GET', '/users', { token: tampered })).status, 401);

  const wrongKey = await new SignJWT({ typ: 'internal' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('shop-gateway').setAudience('shop-user').setExpirationTime('1m').sign(new TextEncoder().encode('y'.repeat(40)));
  t.is((await h.call('GET', '/users', { token: wrongKey })).status, 401);
});

test('roles: a service call without a user gets 401 on user routes; customer on admin route → 403; admin lists users', async (t) => {
  const cust = await register();
  t.is((await h.call('GET', '/users/me', { user: null })).status, 401);
  const forbidden = await h.call('GET', '/users', { user: { id: cust.user.id, role: 'customer' } });
  t.is(forbidden.status, 403);

  const adm = await register();
  await h.service.db.knex('users').where({ id: adm.user.id }).update({ role: 'admin' });
  const list = await h.call('GET', `/users?limit=5&email=${encodeURIComponent(cust.user.email)}`, { user: { id: adm.user.id, role: 'admin' } });
  t.is(list.status, 200);
  t.is(list.body.total, 1);
  t.is(list.body.items[0].id, cust.user.id);
  t.false('passwordHash' in list.body.items[0]);
  const one = await h.call('GET', `/users/${cust.user.id}`, { user: { id: adm.user.id, role: 'admin' } });
  t.is(one.body.email, cust.user.email);
  // a refreshed token carries the new role from the database
  const refreshed = await h.call('POST', '/auth/refresh', { body: { refreshToken: adm.refreshToken } });
  t.is((await createAccessTokenVerifier(JWT_SECRET).verify(refreshed.body.accessToken)).role, 'admin');
});
