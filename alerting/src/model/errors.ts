/** Base class for the alert engine's errors; `code` is stable and safe to branch on. */
export class AlertingError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A config file (Alertmanager config, rule file, engine config) is invalid. `key` is the dotted path, `file` the file. */
export class ConfigError extends AlertingError {
  constructor(
    readonly key: string,
    message: string,
    readonly file?: string,
  ) {
    super('ALERTING_CONFIG_INVALID', `${file ? `${file}: ` : ''}${key ? `${key}: ` : ''}${message}`);
  }
}

/** Input on the API is invalid: the API answers 400 naming `field`. Nothing was stored. */
export class ValidationError extends AlertingError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('ALERTING_INVALID_INPUT', `${field}: ${message}`);
  }
}

/** The thing asked for does not exist (a silence id): the API answers 404. */
export class NotFoundError extends AlertingError {
  constructor(message: string) {
    super('ALERTING_NOT_FOUND', message);
  }
}
