// Public API of @lantern/shop-common: the layer every shop service builds on.
export { loadConfig, ConfigError } from './config.js';
export {
  AppError,
  ValidationError,
  BadRequestError,
  UnauthorizedError,
  ForbiddenError,
  NotFoundError,
  ConflictError,
  PayloadTooLargeError,
  TooManyRequestsError,
  UpstreamError,
  isAppError,
  type ErrorDetail,
} from './errors.js';
export { currentTraceId, inJobSpan, recordFailure } from './trace.js';
export { parse, issuesToDetails, type InputLocation } from './validation.js';
export { errorMiddleware, normaliseBodyError } from './http/error-middleware.js';
export { defineRoute, createRouter, routeMiddleware, type AnyRoute, type RouteSpec, type RouteInput, type RouteAuth, type HttpMethod } from './http/routes.js';
export { docsOnly, DocsOnlyError } from './http/docs-only.js';
export { buildOpenApi, type OpenApiInfo, type OpenApiVersion, type DocumentedRoute } from './http/openapi.js';
export { createServiceApp, runService, type ServiceAppOptions, type RunServiceOptions, type RunningService } from './http/app.js';
export type { ServiceTelemetry, Logger } from './telemetry.js';
export { createDb, isUniqueViolation, type Db, type DbOptions, type Migration } from './db/db.js';
export { roleSchema, type Role, type AuthUser, type ServiceCaller, type ShopState } from './auth/types.js';
export { MIN_SECRET_LENGTH } from './auth/keys.js';
export {
  createAccessTokenIssuer,
  createAccessTokenVerifier,
  bearerToken,
  accessClaimsSchema,
  ACCESS_TOKEN_ISSUER,
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_TTL_SECONDS,
  type AccessClaims,
  type AccessTokenIssuer,
  type AccessTokenVerifier,
} from './auth/access-token.js';
export {
  createInternalTokenSigner,
  verifyInternalToken,
  requireServiceAuth,
  requireUser,
  requireRole,
  INTERNAL_TOKEN_TTL_SECONDS,
  ANY_SERVICE_AUDIENCE,
  type InternalTokenSigner,
  type VerifiedInternalToken,
} from './auth/internal-token.js';
export { createServiceClient, type ServiceClient, type ServiceClientOptions, type RequestOptions, type ServiceResponse, type ForwardedResponse, type ClientMethod } from './client/service-client.js';
export { eventEnvelopeSchema, createEnvelope, decodeEnvelope, InvalidEventError, type EventEnvelope } from './events/envelope.js';
export { createEventPublisher, type EventPublisher } from './events/publisher.js';
export { createEventConsumer, typedHandler, DLQ_HEADERS, type EventConsumer, type EventConsumerOptions, type EventHandler, type EventMeta, type AttemptRecord, type DlqReason } from './events/consumer.js';
export { ensureTopics, dlqTopic, type TopicSpec } from './events/topics.js';
export { commonConfigSchema, type CommonConfig } from './config-schema.js';
export * from './events/shop-events.js';
export { RetryableEventError, NonRetryableEventError, InvalidEventDataError, eventErrorKind, errorClassName, type EventErrorKind } from './events/errors.js';
export { captureTraceHeaders, contextFromHeaders, traceIdOf } from './events/trace-context.js';
export { consumerLagGauge, dlqDepthGauge, fetchGroupLag, fetchDlqDepth, DLQ_REPLAY_GROUP, type PartitionLag, type DlqDepth } from './events/lag.js';
export { dlqAdminRoutes, type DlqAdminOptions, type DlqMessage } from './events/dlq-admin.js';
export { outboxMigrations, processedEventsMigrations, OUTBOX_TABLE, PROCESSED_EVENTS_TABLE } from './outbox/migrations.js';
export { enqueueEvent, MAX_EVENT_BYTES, type OutboxEvent } from './outbox/enqueue.js';
export { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from './outbox/relay.js';
export { claimEvent, pruneProcessedEvents } from './outbox/claim.js';
