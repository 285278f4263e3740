/** Base class for errors raised by the Lantern SDK; `code` is stable and safe to branch on. */
export class LanternError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value (option or environment variable) is invalid. The message names the key. */
export class ConfigError extends LanternError {
  /** The environment variable or option that is wrong, e.g. `OTEL_TRACES_SAMPLER_ARG`. */
  readonly key: string;
  constructor(key: string, message: string) {
    super('LANTERN_CONFIG_INVALID', message);
    this.key = key;
  }
}

/** start() was called twice with a different configuration, or getTelemetry() before start(). */
export class StartError extends LanternError {
  constructor(message: string) {
    super('LANTERN_START', message);
  }
}
