// Public API of @lantern/shop-product.
export { createProductService, PRODUCT_CACHE, type ProductService, type ProductServiceOptions } from './service.js';
export { createProductRoutes, productRouteDocs, type ProductRouteDeps } from './routes.js';
export { productConfigSchema, loadProductConfig, type ProductConfig } from './config.js';
export * from './schemas.js';
export { ProductStore } from './db/product-store.js';
export { migrations } from './db/migrations.js';
export { generateCatalogue, stableUuid, type Catalogue, type CatalogueOptions, type SeedProduct, type SeedCategory, type SeedReview } from './seed/catalogue.js';
export { seedCatalogue, type SeedResult } from './seed/load.js';
export * from './cache/index.js';
