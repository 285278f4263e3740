/** Base class for the collector's errors; `code` is stable and safe to branch on. */
export class CollectorError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The configuration is invalid. `key` is the dotted path of the offending key, e.g. `processors.batch.timeout`. */
export class ConfigError extends CollectorError {
  readonly key: string;
  constructor(key: string, message: string) {
    super('COLLECTOR_CONFIG_INVALID', key ? `${key}: ${message}` : message);
    this.key = key;
  }
}

/**
 * The data was not accepted, but the sender may try again later (memory pressure, a full queue).
 * Receivers answer 503 (or 429 when `resourceExhausted`) with Retry-After; nothing of it was kept.
 */
export class RefusedError extends CollectorError {
  readonly retryAfterSeconds: number;
  readonly resourceExhausted: boolean;
  constructor(message: string, opts: { retryAfterSeconds?: number; resourceExhausted?: boolean } = {}) {
    super('COLLECTOR_REFUSED', message);
    this.retryAfterSeconds = opts.retryAfterSeconds ?? 1;
    this.resourceExhausted = opts.resourceExhausted ?? false;
  }
}

/** The data can never be accepted as it is (receivers answer 400); retrying is pointless. */
export class PermanentError extends CollectorError {
  constructor(message: string, options?: ErrorOptions) {
    super('COLLECTOR_PERMANENT', message, options);
  }
}
