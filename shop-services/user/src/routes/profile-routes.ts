import { defineRoute, UnauthorizedError, type AnyRoute } from '@lantern/shop-common';
import { profile, updateProfileBody, changePasswordBody, listUsersQuery, userList, idParams } from '../schemas.js';
import { toProfile } from '../users-repo.js';
import type { UserServiceDeps } from '../deps.js';

export function profileRoutes(d: UserServiceDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/users/me',
      summary: 'The signed-in user profile',
      tags: ['profile'],
      auth: 'user',
      response: profile,
      handler: async ({ user }) => toProfile(await d.users.getById(user.id)),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/users/me',
      summary: 'Update name and/or email',
      tags: ['profile'],
      auth: 'user',
      body: updateProfileBody,
      response: profile,
      handler: async ({ user, body }) => toProfile(await d.users.update(user.id, body)),
    }),
    defineRoute({
      method: 'POST',
      path: '/users/me/password',
      summary: 'Change password; signs out every session',
      tags: ['profile'],
      auth: 'user',
      body: changePasswordBody,
      status: 204,
      handler: async ({ user, body }) => {
        const current = await d.users.getById(user.id);
        if (!(await d.passwords.verify(current.passwordHash, body.currentPassword))) {
          throw new UnauthorizedError('current password is incorrect', 'invalid_credentials');
        }
        await d.users.update(user.id, { passwordHash: await d.passwords.hash(body.newPassword) });
        await d.sessions.revokeAll(user.id);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/users',
      summary: 'List users (admin)',
      tags: ['admin'],
      auth: 'admin',
      query: listUsersQuery,
      response: userList,
      handler: async ({ query }) => {
        const { items, total } = await d.users.list(query);
        return { items: items.map(toProfile), total, limit: query.limit, offset: query.offset };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/users/:id',
      summary: 'Get a user by id (admin)',
      tags: ['admin'],
      auth: 'admin',
      params: idParams,
      response: profile,
      handler: async ({ params }) => toProfile(await d.users.getById(params.id)),
    }),
  ];
}
