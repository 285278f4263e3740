/**
 * Paths pino redacts by default. `*` matches one level, so "*.password" covers `{ user: { password } }`
 * but not deeper nesting: log the object at a known depth or add your own paths.
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = [
  'password',
  '*.password',
  'authorization',
  'headers.authorization',
  '*.headers.authorization',
  'cookie',
  'headers.cookie',
  '*.headers.cookie',
  'headers["set-cookie"]',
  '*.headers["set-cookie"]',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'cardNumber',
  '*.cardNumber',
  'card.number',
  '*.card.number',
  'pan',
  '*.pan',
];

export const REDACTED = '[REDACTED]';
