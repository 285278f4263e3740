import { z } from 'zod';

/**
 * Request and response schemas of the product service. Exported so the gateway can validate at the
 * edge and build its OpenAPI document from the same definitions.
 */

export const MAX_PAGE_SIZE = 100;
/** Deep offsets scan and discard rows; past this, clients should narrow the filter instead. */
export const MAX_OFFSET = 10_000;

export const productId = z.uuid({ message: 'must be a UUID' });
export const categorySlug = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a lowercase slug (a-z, 0-9, -)');
export const productStatus = z.enum(['active', 'inactive']);
export const sortField = z.enum(['price', 'name', 'newest', 'rating']);
export const sortOrder = z.enum(['asc', 'desc']);

export const productIdParams = z.object({ id: productId });

const limit = z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(1).max(MAX_PAGE_SIZE).default(20);
const offset = z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(0).max(MAX_OFFSET).default(0);
const priceBound = z.coerce.number({ message: 'must be a number of cents' }).int('must be an integer number of cents').min(0);

export const paginationQuery = z.strictObject({ limit, offset });

export const listProductsQuery = z
  .strictObject({
    limit,
    offset,
    category: categorySlug.optional(),
    minPrice: priceBound.optional(),
    maxPrice: priceBound.optional(),
    /** 'all' includes products taken off the shelf (admin views). */
    status: z.enum(['active', 'inactive', 'all']).default('active'),
    sort: sortField.default('newest'),
    /** Defaults per field: price and name ascending, newest and rating descending. */
    order: sortOrder.optional(),
  })
  .refine((q) => q.minPrice === undefined || q.maxPrice === undefined || q.minPrice <= q.maxPrice, {
    message: 'must be greater than or equal to minPrice',
    path: ['maxPrice'],
  });
export type ListProductsQuery = z.output<typeof listProductsQuery>;

export const searchProductsQuery = z.strictObject({
  q: z.string({ message: 'is required' }).trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  limit,
  offset,
  category: categorySlug.optional(),
  status: z.enum(['active', 'inactive', 'all']).default('active'),
});
export type SearchProductsQuery = z.output<typeof searchProductsQuery>;

const productFields = {
  sku: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(64, 'must be at most 64 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may only contain letters, digits and . _ -'),
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z.string().max(5000, 'must be at most 5000 characters'),
  category: categorySlug,
  priceCents: z.number().int('must be an integer number of cents').min(0).max(100_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code, e.g. USD'),
  status: productStatus,
  imageUrls: z.array(z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048)).max(20, 'at most 20 images'),
};

export const createProductBody = z.strictObject({
  ...productFields,
  description: productFields.description.default(''),
  currency: productFields.currency.default('USD'),
  status: productFields.status.default('active'),
  imageUrls: productFields.imageUrls.default([]),
});
export type CreateProductInput = z.output<typeof createProductBody>;

/** PUT updates the fields given and leaves the others unchanged. */
export const updateProductBody = z
  .strictObject({
    sku: productFields.sku.optional(),
    name: productFields.name.optional(),
    description: productFields.description.optional(),
    category: productFields.category.optional(),
    priceCents: productFields.priceCents.optional(),
    currency: productFields.currency.optional(),
    status: productFields.status.optional(),
    imageUrls: productFields.imageUrls.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'must contain at least one field to update' });
export type UpdateProductInput = z.output<typeof updateProductBody>;

export const createReviewBody = z.strictObject({
  rating: z.number({ message: 'must be a number' }).int('must be an integer').min(1, 'must be between 1 and 5').max(5, 'must be between 1 and 5'),
  body: z.string().trim().max(2000, 'must be at most 2000 characters').default(''),
});
export type CreateReviewInput = z.output<typeof createReviewBody>;

export const productSchema = z.object({
  id: z.string(),
  sku: z.string(),
  name: z.string(),
  description: z.string(),
  category: z.string(),
  priceCents: z.number().int(),
  currency: z.string(),
  status: productStatus,
  imageUrls: z.array(z.string()),
  rating: z.object({ average: z.number().nullable(), count: z.number().int() }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Product = z.output<typeof productSchema>;

export const productPageSchema = z.object({
  items: z.array(productSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});
export type ProductPage = z.output<typeof productPageSchema>;

export const reviewSchema = z.object({
  id: z.string(),
  productId: z.string(),
  userId: z.string(),
  rating: z.number().int(),
  body: z.string(),
  createdAt: z.string(),
});
export type Review = z.output<typeof reviewSchema>;

export const reviewPageSchema = z.object({
  items: z.array(reviewSchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});
export type ReviewPage = z.output<typeof reviewPageSchema>;

export const categorySchema = z.object({
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  productCount: z.number().int(),
});
export const categoryListSchema = z.object({ items: z.array(categorySchema) });
export type Category = z.output<typeof categorySchema>;
