// Public API of @lantern/shop-payment.
export { createPaymentService, SERVICE_NAME, BANK_SIMULATOR, type PaymentApp, type PaymentServiceDeps } from './app.js';
export { paymentConfigSchema, loadPaymentConfig, channelSimulation, type PaymentConfig, type ChannelSimulation } from './config.js';
export { createPaymentRoutes, type PaymentRouteDeps } from './routes.js';
export { paymentMigrations } from './db/migrations.js';
export {
  createPaymentBody,
  refundBody,
  paymentSchema,
  refundSchema,
  channelStatusSchema,
  idempotencyKeySchema,
  MAX_AMOUNT_CENTS,
} from './schemas.js';
export type { Payment, Refund } from './payments/types.js';
export type { PaymentEventSink, PaymentEventType } from './events.js';
export {
  ChannelError,
  type PaymentChannelAdapter,
  type ChargeRequest,
  type ChargeResult,
  type LookupRequest,
  type RefundRequest,
  type RefundResult,
  type ChannelTransaction,
} from './channels/types.js';
export { SimulatedChannel, type SimulatedChannelOptions } from './channels/simulated-channel.js';
export { CallbackDelivery, type ProviderEvent } from './channels/callback-delivery.js';
export { signCallback, verifyCallbackSignature, SIGNATURE_HEADER, type SignatureCheck } from './callbacks/signature.js';
export { providerEventSchema } from './callbacks/callback-handler.js';
export { ChannelRouter, type ChannelStatus, type RoutedCharge } from './routing/channel-router.js';
export { HealthWindow, channelScore, type WindowStats, type CallOutcome } from './routing/health-window.js';
export { StaleRecovery, type RecoveryOptions } from './payments/recovery.js';
export { schedulePeriodic } from './periodic.js';
export { Reconciler, ReconciliationBusyError, type ReconciliationReport } from './reconciliation/reconciler.js';
export { compareChannel, type Mismatch } from './reconciliation/compare.js';
