export { createLogger, closeLogger, type Logger, type LoggerOptions } from './logger.js';
export { DEFAULT_REDACT_PATHS } from './redact.js';
