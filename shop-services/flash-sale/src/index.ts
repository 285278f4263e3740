// Public API of @lantern/shop-flash-sale.
export { createFlashSaleService, migrations, SERVICE_NAME, type FlashSaleService, type FlashSaleServiceOptions } from './app.js';
export { flashSaleConfigSchema, loadFlashSaleConfig, type FlashSaleConfig } from './config.js';
export { flashSaleRoutes, flashSaleRouteDocs } from './routes.js';
export { createInventoryClient, type InventoryAllocations } from './inventory-client.js';
export { PURCHASE_REQUESTED, type PurchaseAccepted } from './purchase.js';
export type { Sale, Purchase, SaleStatus, PurchaseStatus } from './db/sale-store.js';
export type { SaleView, SaleState } from './sales.js';
export { createSaleBody, saleView, purchaseView, purchaseAccepted, MAX_STOCK } from './schemas.js';
