import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config.js';

/**
 * The service's own resource: SDK defaults < OTEL_RESOURCE_ATTRIBUTES / options < service identity.
 * Host and process attributes are added by NodeSDK's detectors (see provider.ts).
 */
export function createResource(config: Config): Resource {
  return defaultResource()
    .merge(resourceFromAttributes(config.resourceAttributes))
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: config.serviceName,
        [ATTR_SERVICE_VERSION]: config.serviceVersion,
        // both spellings: the stable semconv name and the older one many backends still query
        'deployment.environment.name': config.environment,
        'deployment.environment': config.environment,
      }),
    );
}
