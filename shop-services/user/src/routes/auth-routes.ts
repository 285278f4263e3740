import { defineRoute, UnauthorizedError, type AnyRoute } from '@lantern/shop-common';
import { registerBody, loginBody, refreshBody, tokenResponse } from '../schemas.js';
import type { UserServiceDeps } from '../deps.js';
import { clientIp } from './client-ip.js';

const invalidCredentials = () => new UnauthorizedError('email or password is incorrect', 'invalid_credentials');

export function authRoutes(d: UserServiceDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/auth/register',
      summary: 'Create a customer account and start a session',
      tags: ['auth'],
      auth: 'none',
      body: registerBody,
      response: tokenResponse,
      status: 201,
      handler: async ({ body }) => {
        const user = await d.users.create({ email: body.email, name: body.name, passwordHash: await d.passwords.hash(body.password) });
        return d.sessions.start(user);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/login',
      summary: 'Exchange email and password for an access and a refresh token',
      tags: ['auth'],
      auth: 'none',
      body: loginBody,
      response: tokenResponse,
      handler: async ({ body, ctx }) => {
        const ip = clientIp(ctx);
        await d.loginGuard.check(body.email, ip);
        const user = await d.users.findByEmail(body.email);
        if (!user) {
          await d.passwords.burn(body.password);
          await d.loginGuard.recordFailure(body.email, ip);
          throw invalidCredentials();
        }
        if (!(await d.passwords.verify(user.passwordHash, body.password))) {
          await d.loginGuard.recordFailure(body.email, ip);
          throw invalidCredentials();
        }
        await d.loginGuard.recordSuccess(body.email, ip);
        return d.sessions.start(user);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/refresh',
      summary: 'Rotate a refresh token: returns a new pair; the old refresh token stops working',
      tags: ['auth'],
      auth: 'none',
      body: refreshBody,
      response: tokenResponse,
      handler: async ({ body }) => d.sessions.refresh(body.refreshToken),
    }),
    defineRoute({
      method: 'POST',
      path: '/auth/logout',
      summary: 'Revoke the session the refresh token belongs to',
      tags: ['auth'],
      auth: 'none',
      body: refreshBody,
      status: 204,
      handler: async ({ body }) => {
        await d.sessions.logout(body.refreshToken);
      },
    }),
  ];
}
