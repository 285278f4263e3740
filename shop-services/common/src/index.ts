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
export { currentTraceId } from './trace.js';
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
export { createEventConsumer, typedHandler, type EventConsumer, type EventConsumerOptions, type EventHandler, type EventMeta } from './events/consumer.js';
export { ensureTopics, dlqTopic, type TopicSpec } from './events/topics.js';
export { commonConfigSchema, type CommonConfig } from './config-schema.js';
export * from './events/shop-events.js';
