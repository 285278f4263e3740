import { z } from 'zod';
import { roleSchema } from '@lantern/shop-common';

/** Request/response contracts of the user service; the gateway reuses them for validation and OpenAPI. */
const email = z
  .email()
  .max(254)
  .transform((e) => e.trim().toLowerCase());
/** Upper bound keeps argon2 work per request bounded. */
const password = z.string().min(8, 'must be at least 8 characters').max(256, 'must be at most 256 characters');
const name = z.string().trim().min(1, 'must not be empty').max(200);

export const registerBody = z.strictObject({ email, password, name });
export const loginBody = z.strictObject({ email, password: z.string().min(1).max(256) });
export const refreshBody = z.strictObject({ refreshToken: z.string().min(20).max(200) });
export const updateProfileBody = z
  .strictObject({ name: name.optional(), email: email.optional() })
  .refine((b) => b.name !== undefined || b.email !== undefined, 'provide name and/or email');
export const changePasswordBody = z.strictObject({ currentPassword: z.string().min(1).max(256), newPassword: password });

export const profile = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Profile = z.infer<typeof profile>;

export const tokenResponse = z.object({
  user: profile,
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number(),
  refreshToken: z.string(),
  refreshExpiresAt: z.string(),
});

const addressFields = {
  label: z.string().trim().max(100).nullish(),
  recipient: z.string().trim().min(1).max(200),
  line1: z.string().trim().min(1).max(200),
  line2: z.string().trim().max(200).nullish(),
  city: z.string().trim().min(1).max(100),
  postalCode: z.string().trim().min(1).max(20),
  country: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
    .transform((c) => c.toUpperCase()),
};
export const createAddressBody = z.strictObject(addressFields);
export const updateAddressBody = z
  .strictObject({
    label: addressFields.label,
    recipient: addressFields.recipient.optional(),
    line1: addressFields.line1.optional(),
    line2: addressFields.line2,
    city: addressFields.city.optional(),
    postalCode: addressFields.postalCode.optional(),
    country: addressFields.country.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'provide at least one field');
export const address = z.object({
  id: z.uuid(),
  label: z.string().nullable(),
  recipient: z.string(),
  line1: z.string(),
  line2: z.string().nullable(),
  city: z.string(),
  postalCode: z.string(),
  country: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Address = z.infer<typeof address>;

export const idParams = z.object({ id: z.uuid('must be a UUID') });
export const listUsersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
  email: z.string().max(254).optional(),
});
export const userList = z.object({ items: z.array(profile), total: z.number(), limit: z.number(), offset: z.number() });
