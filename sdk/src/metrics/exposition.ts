import client from 'prom-client';
import type { Metric, Registry, RegistryContentType } from 'prom-client';
import { defaultRegistry } from './registry.js';

export const OPENMETRICS_CONTENT_TYPE = client.Registry.OPENMETRICS_CONTENT_TYPE;
export const PROMETHEUS_TEXT_CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;

export interface RenderedMetrics {
  contentType: string;
  body: string;
}

/**
 * True when the Accept header ranks OpenMetrics at least as high as the 0.0.4 text format.
 * Prometheus sends `application/openmetrics-text;version=1.0.0,…,text/plain;version=0.0.4;q=0.5,…`;
 * curl and browsers send nothing or `*∕*`, and get the text format.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let om = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [typePart = '', ...params] = range.split(';');
    const type = typePart.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k?.trim().toLowerCase() === 'q' && v !== undefined) {
        const parsed = Number(v.trim());
        if (Number.isFinite(parsed)) q = parsed;
      }
    }
    if (type === 'application/openmetrics-text') om = Math.max(om, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return om > 0 && om >= text;
}

/** What prom-client's Registry reads from a metric when printing it. */
interface Printable {
  name: string;
  type: string;
  get(): Promise<{ name: string; type: string }>;
  getForPromString?: () => Promise<{ name: string; type: string }>;
}

/**
 * A read-only stand-in for `metric` that a per-scrape registry can print. Needed because prom-client
 * ties the format to the registry (exemplars are only printed by an OpenMetrics registry), and its
 * OpenMetrics rendering renames counters in place (`metric.name` loses `_total`), which would
 * corrupt the text format for every later scrape if the real metric were registered there.
 */
function facade(metric: Printable, openMetrics: boolean): Printable {
  const rename = (name: string, type: string) => (openMetrics && type === 'counter' ? name.replace(/_total$/, '') : name);
  const read = () => (metric.getForPromString ? metric.getForPromString() : metric.get());
  return {
    name: rename(metric.name, metric.type),
    type: metric.type,
    get: read,
    async getForPromString() {
      const data = await read();
      return { ...data, name: rename(data.name, data.type) };
    },
  };
}

function defaultLabelsOf(registry: Registry<RegistryContentType>): Record<string, string> {
  // prom-client has no getter for default labels; its own merge() loses them the same way
  return (registry as unknown as { _defaultLabels?: Record<string, string> })._defaultLabels ?? {};
}

/**
 * Renders every metric of `registry` in the format the Accept header asks for. Each call renders
 * through its own short-lived registry of read-only views, so concurrent scrapes in different
 * formats never see each other's state and the source registry is never modified.
 * Never switch the shared registry itself to OpenMetrics (`setContentType`): prom-client would
 * then strip `_total` from counter names for everyone.
 */
export async function renderMetrics(accept: string | undefined, registry: Registry<RegistryContentType> = defaultRegistry()): Promise<RenderedMetrics> {
  const openMetrics = prefersOpenMetrics(accept);
  const contentType: RegistryContentType = openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_TEXT_CONTENT_TYPE;
  const view = new client.Registry<RegistryContentType>();
  view.setContentType(contentType);
  view.setDefaultLabels(defaultLabelsOf(registry));
  for (const metric of registry.getMetricsAsArray()) view.registerMetric(facade(metric as unknown as Printable, openMetrics) as unknown as Metric);
  return { contentType, body: await view.metrics() };
}
