/** The slice of a pino logger the cache needs; tests can pass a silent one. */
export interface CacheLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: CacheLogger = { warn() {}, error() {} };
