import { z } from 'zod';

/**
 * Product and user ids end up inside Redis keys and sorted-set members, so they are restricted to a
 * safe alphabet (UUIDs, slugs, numeric ids all fit) and a bounded length.
 */
export const entityId = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'may only contain letters, digits and . _ : -');

/** Category slugs as the product service uses them, e.g. `laptops`, `home-audio`. */
export const categorySlug = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a lowercase slug (a-z, 0-9, -)');
