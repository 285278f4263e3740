// Public API of @lantern/shop-inventory.
export { createInventoryService, allMigrations, SERVICE_NAME, type InventoryService, type InventoryServiceOptions } from './app.js';
export { inventoryRoutes, inventoryRouteDocs, type InventoryRouteDeps } from './routes.js';
export { inventoryConfigSchema, loadInventoryConfig, type InventoryConfig } from './config.js';
export * from './schemas.js';
export { inventoryMigrations } from './db/migrations.js';
export { StockStore, type StockRow, type Line, type Reservation, type ReservationStatus, type Allocation, type Shortage } from './db/stock-store.js';
export { Inventory, type ReconcileTrigger, type InventoryOptions } from './inventory.js';
export { Reconciler, type ReconcileReport, type ReconcilerOptions } from './reconcile.js';
export { StockGate, type GateLine, type HoldResult, type Marker, type ProductSnapshot } from './redis/stock-gate.js';
export { outboxStockEvents, noStockEvents, type StockEvents } from './events.js';
export type { ReserveOutcome, ReservePath, FallbackReason } from './metrics.js';
