import { z } from 'zod';
import { defineRoute, type AnyRoute } from '@lantern/shop-common';
import { address, createAddressBody, updateAddressBody, idParams } from '../schemas.js';
import type { UserServiceDeps } from '../deps.js';

/** Addresses are always scoped to the signed-in user: other users' ids answer 404. */
export function addressRoutes(d: UserServiceDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/users/me/addresses',
      summary: 'List my addresses',
      tags: ['addresses'],
      auth: 'user',
      response: z.object({ items: z.array(address) }),
      handler: async ({ user }) => ({ items: await d.users.listAddresses(user.id) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/users/me/addresses',
      summary: 'Add an address',
      tags: ['addresses'],
      auth: 'user',
      body: createAddressBody,
      response: address,
      status: 201,
      handler: async ({ user, body }) => d.users.createAddress(user.id, body),
    }),
    defineRoute({
      method: 'GET',
      path: '/users/me/addresses/:id',
      summary: 'Get one of my addresses',
      tags: ['addresses'],
      auth: 'user',
      params: idParams,
      response: address,
      handler: async ({ user, params }) => d.users.getAddress(user.id, params.id),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/users/me/addresses/:id',
      summary: 'Update one of my addresses',
      tags: ['addresses'],
      auth: 'user',
      params: idParams,
      body: updateAddressBody,
      response: address,
      handler: async ({ user, params, body }) => d.users.updateAddress(user.id, params.id, body),
    }),
    defineRoute({
      method: 'DELETE',
      path: '/users/me/addresses/:id',
      summary: 'Delete one of my addresses',
      tags: ['addresses'],
      auth: 'user',
      params: idParams,
      status: 204,
      handler: async ({ user, params }) => {
        await d.users.deleteAddress(user.id, params.id);
      },
    }),
  ];
}
