// Public API of @lantern/shop-order.
export { createOrderApp, migrations, SERVICE_NAME, DLQ_ADMIN_PREFIX, type OrderApp, type OrderAppDeps } from './app.js';
export { orderConfigSchema, loadOrderConfig, type OrderConfig } from './config.js';
export { orderRoutes, orderRouteDocs, toApi, type OrderRouteDeps } from './routes.js';
export { OrderService, JOB, type PlacedOrder } from './order-service.js';
export { Scheduler, type Job, type JobHandler, type JobResult, type ScheduleInput } from './scheduler.js';
export { TRANSITIONS, TERMINAL, canTransition, assertTransition, IllegalTransitionError, type OrderStatus } from './state-machine.js';
export { PaymentFailedError } from './errors.js';
export { orderPlacedData, statusChangedData } from './events.js';
export * from './schemas.js';
