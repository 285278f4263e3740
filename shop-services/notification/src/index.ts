// Public API of @lantern/shop-notification.
export { createNotificationService, SERVICE_NAME, DLQ_ADMIN_PREFIX, MIGRATIONS, type NotificationService, type NotificationServiceDeps } from './app.js';
export { notificationConfigSchema, loadNotificationConfig, MIN_PROCESSED_EVENTS_RETENTION_DAYS, type NotificationConfig, type SmtpTarget } from './config.js';
export { notificationRoutes, notificationRouteDocs } from './routes.js';
export { NotificationStore, maskRecipient, type NotificationView, type DeliveryView, type DeliveryStatus, type Preferences } from './store.js';
export { DeliveryDispatcher, retryDelayMs, type DispatcherOptions, type DeliverySink } from './dispatcher.js';
export { RetentionJob, RETENTION_KINDS, type RetentionOptions, type RetentionRun, type RetentionKind } from './retention.js';
export { ingestEvent, notificationHandlers, type IngestDeps, type IngestOutcome } from './ingest.js';
export {
  renderNotification,
  escapeHtml,
  html,
  SafeHtml,
  oneLine,
  formatMoney,
  orderRef,
  NOTIFIABLE_TYPES,
  type NotifiableType,
  type NotifiableEvents,
  type RenderedNotification,
  type TemplateContext,
} from './templates.js';
export { createEmailChannel, classifySmtpError, messageIdFor, redactSecret, type EmailChannelOptions } from './channels/email.js';
export { createSimulatedSmsProvider, E164, type SimulatedSmsProvider, type SimulatedSmsOptions, type SentSms } from './channels/sms.js';
export { CHANNELS, TransientDeliveryError, PermanentDeliveryError, type Channel, type ChannelName, type EmailMessage, type SmsMessage, type SendResult } from './channels/types.js';
export {
  notificationsSentTotal,
  deliveryLatencySeconds,
  sendDurationSeconds,
  notificationEventsTotal,
  deliveriesPending,
  retentionDeletedTotal,
  type SendOutcome,
} from './metrics.js';
