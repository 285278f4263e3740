/** Thrown when a route built for documentation only is actually run. */
export class DocsOnlyError extends Error {
  constructor(readonly service: string, readonly dependency: string) {
    super(`${service} routes built with docsOnly() are for the OpenAPI document only; ${dependency} is not available`);
    this.name = 'DocsOnlyError';
  }
}

/**
 * Stand-in dependencies for building a service's routes only to document them (the gateway's
 * /api/docs lists every service's routes from their own zod schemas). Route factories may read
 * plain values at build time (`values`, e.g. limits that shape a schema); any other dependency is
 * a stand-in that throws DocsOnlyError as soon as a handler touches it, so such routes can never
 * serve a request by accident.
 */
export function docsOnly<T extends object>(service: string, values: Partial<T> = {}): T {
  const missing = (name: string): unknown =>
    new Proxy(() => undefined, {
      get: (_t, prop) => {
        throw new DocsOnlyError(service, `${name}.${String(prop)}`);
      },
      apply: () => {
        throw new DocsOnlyError(service, name);
      },
    });
  return new Proxy(values, {
    get: (target, prop) => (prop in target ? (target as Record<string | symbol, unknown>)[prop] : missing(String(prop))),
  }) as T;
}
