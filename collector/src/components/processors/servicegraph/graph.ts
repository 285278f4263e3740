// Pairs client and server spans into edges between services and records the request count, failures
// and both sides' latency per edge, under the names of the servicegraph connector (and Tempo).
import type { Registry } from 'prom-client';
import type { Attributes, DecodedSpan } from '../../../otlp/types.js';
import { attributeString, derivedCounter, derivedHistogram, spanDurationNs, sanitizeName, type DerivedCounter, type DerivedHistogram, type Labels } from '../../derived/metrics.js';
import type { ServiceGraphConfig } from './config.js';
import { EdgeStore, type ConnectionType, type Edge } from './store.js';

const SEP = '\u0000';

interface Metrics {
  requests: DerivedCounter;
  failed: DerivedCounter;
  serverSeconds: DerivedHistogram;
  clientSeconds: DerivedHistogram;
  unpaired: DerivedCounter;
  dropped: DerivedCounter;
}

function metricsIn(registry: Registry, bucketsMs: readonly number[]): Metrics {
  const bounds = bucketsMs.map((ms) => ms / 1000);
  return {
    requests: derivedCounter(registry, 'traces_service_graph_request_total', 'Requests between two services (servicegraph).'),
    failed: derivedCounter(registry, 'traces_service_graph_request_failed_total', 'Requests between two services where either side failed (servicegraph).'),
    serverSeconds: derivedHistogram(registry, 'traces_service_graph_request_server_seconds', 'Request latency seen by the server, in seconds (servicegraph).', bounds),
    clientSeconds: derivedHistogram(registry, 'traces_service_graph_request_client_seconds', 'Request latency seen by the client, in seconds (servicegraph).', bounds),
    unpaired: derivedCounter(registry, 'traces_service_graph_unpaired_spans_total', 'Client or server spans whose other side did not arrive within store.ttl (servicegraph).'),
    dropped: derivedCounter(registry, 'traces_service_graph_dropped_spans_total', 'Spans left out of the graph because the store held store.max_items edges (servicegraph).'),
  };
}

export class ServiceGraph {
  readonly store: EdgeStore;
  private readonly m: Metrics;
  private readonly dims: { name: string; label: string }[];

  constructor(
    registry: Registry,
    private readonly config: ServiceGraphConfig,
  ) {
    this.m = metricsIn(registry, config.latency_histogram_buckets);
    this.dims = config.dimensions.map((name) => ({ name, label: sanitizeName(name) }));
    this.store = new EdgeStore(
      config.store.ttl,
      config.store.max_items,
      (e) => this.complete(e),
      (e) => this.expired(e),
    );
  }

  record(spans: readonly DecodedSpan[]): void {
    const now = Date.now();
    for (const span of spans) {
      const service = span.resource.attributes['service.name'];
      // like the connector: without service.name a span cannot be a node of the graph
      if (typeof service !== 'string' || service === '') continue;
      if (span.kind === 'client' || span.kind === 'producer') this.clientSide(span, service, now);
      else if (span.kind === 'server' || span.kind === 'consumer') this.serverSide(span, service, now);
    }
  }

  /** Sweeps half edges past their ttl. */
  expire(now = Date.now()): void {
    this.store.expire(now);
  }

  private clientSide(span: DecodedSpan, service: string, now: number): void {
    const latency = spanDurationNs(span) / 1e9;
    const result = this.store.upsert(span.traceId + span.spanId, false, now, (e) => {
      e.traceId = span.traceId;
      e.connectionType = span.kind === 'producer' ? 'messaging_system' : '';
      e.clientService = service;
      e.clientLatencySec = latency;
      e.failed ||= span.status.code === 'error';
      this.addDimensions('client', e, span);
      e.peer = this.peerOf(span.attributes);
      // a database call has no server span: the edge completes from the client side alone
      const db = span.kind === 'client' ? this.databaseOf(span) : undefined;
      if (db !== undefined) {
        e.connectionType = 'database';
        e.serverService = db;
        e.serverLatencySec = latency;
      }
    });
    if (result === 'dropped') this.m.dropped.seriesFor(service + SEP, { client: service, server: '' }).add(1, now);
  }

  private serverSide(span: DecodedSpan, service: string, now: number): void {
    const latency = spanDurationNs(span) / 1e9;
    const parent = span.parentSpanId ?? '';
    const result = this.store.upsert(span.traceId + parent, parent === '', now, (e) => {
      e.traceId = span.traceId;
      e.connectionType = span.kind === 'consumer' ? 'messaging_system' : '';
      e.serverService = service;
      e.serverLatencySec = latency;
      e.failed ||= span.status.code === 'error';
      this.addDimensions('server', e, span);
    });
    if (result === 'dropped') this.m.dropped.seriesFor(SEP + service, { client: '', server: service }).add(1, now);
  }

  private addDimensions(side: 'client' | 'server', e: Edge, span: DecodedSpan): void {
    for (const d of this.dims) {
      const v = attributeString(span.resource.attributes, d.name) ?? attributeString(span.attributes, d.name);
      if (v !== undefined && v !== '') e.dimensions[`${side}_${d.label}`] = v;
    }
  }

  private peerOf(attrs: Attributes): string {
    for (const name of this.config.virtual_node_peer_attributes) {
      const v = attributeString(attrs, name);
      if (v) return v;
    }
    return '';
  }

  /**
   * The server name of a database call, or undefined when the span is not one. The first
   * database_name_attributes value names it, except that a bare db.system ("postgresql") yields to
   * peer.service, which names the instance.
   */
  private databaseOf(span: DecodedSpan): string | undefined {
    for (const name of this.config.database_name_attributes) {
      const v = attributeString(span.attributes, name) ?? attributeString(span.resource.attributes, name);
      if (!v) continue;
      if (name === 'db.system') return attributeString(span.attributes, 'peer.service') || v;
      return v;
    }
    return undefined;
  }

  private complete(e: Edge): void {
    const now = Date.now();
    let key = e.clientService + SEP + e.serverService + SEP + e.connectionType;
    for (const side of ['client', 'server'] as const) for (const d of this.dims) key += SEP + (e.dimensions[`${side}_${d.label}`] ?? '');
    // the labels object is only built for a new series
    let labels: Labels | undefined;
    const labelsOf = () => (labels ??= this.edgeLabels(e));
    const { requests, failed, serverSeconds, clientSeconds } = this.m;
    (requests.find(key) ?? requests.insert(key, labelsOf())).add(1, now);
    if (e.failed) (failed.find(key) ?? failed.insert(key, labelsOf())).add(1, now);
    (serverSeconds.find(key) ?? serverSeconds.insert(key, labelsOf())).observe(e.serverLatencySec, now);
    (clientSeconds.find(key) ?? clientSeconds.insert(key, labelsOf())).observe(e.clientLatencySec, now);
  }

  private edgeLabels(e: Edge): Labels {
    const labels: Labels = { client: e.clientService, server: e.serverService, connection_type: e.connectionType };
    for (const side of ['client', 'server'] as const) {
      for (const d of this.dims) {
        const v = e.dimensions[`${side}_${d.label}`];
        if (v !== undefined) labels[`${side}_${d.label}`] = v;
      }
    }
    return labels;
  }

  /** An edge whose other span never came: counted as unpaired, and completed with a virtual node where one can be named. */
  private expired(e: Edge): void {
    this.m.unpaired.seriesFor(e.clientService + SEP + e.serverService, { client: e.clientService, server: e.serverService }).add(1, Date.now());
    if (this.config.virtual_node_peer_attributes.length === 0) return;
    const virtual: ConnectionType = 'virtual_node';
    if (e.clientService === '' && e.rootServer) {
      // a root server span: its caller is a user (or a service that is not traced)
      this.complete({ ...e, connectionType: virtual, clientService: 'user' });
    } else if (e.serverService === '' && e.peer !== '') {
      this.complete({ ...e, connectionType: virtual, serverService: e.peer });
    }
  }
}
