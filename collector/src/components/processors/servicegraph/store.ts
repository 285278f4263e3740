// Half edges waiting for their other span, as in the connector's internal/store: a client span is
// keyed by (traceId, spanId), a server span by (traceId, parentSpanId), so the two meet under one key.
// A Map keeps insertion order, and every edge lives for the same ttl, so the oldest is always first.

export type ConnectionType = '' | 'messaging_system' | 'database' | 'virtual_node';

export interface Edge {
  readonly key: string;
  traceId: string;
  /** The server side's key had no parent span id (a root server span): its caller is outside the traces. */
  readonly rootServer: boolean;
  connectionType: ConnectionType;
  clientService: string;
  serverService: string;
  clientLatencySec: number;
  serverLatencySec: number;
  failed: boolean;
  /** client_<dim> / server_<dim> label values. */
  dimensions: Record<string, string>;
  /** The first virtual_node_peer_attributes value found on the client span. */
  peer: string;
  readonly expiresAt: number;
}

export type UpsertResult = 'new' | 'updated' | 'completed' | 'dropped';

export class EdgeStore {
  private readonly edges = new Map<string, Edge>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxItems: number,
    private readonly onComplete: (e: Edge) => void,
    private readonly onExpire: (e: Edge) => void,
  ) {}

  get size(): number {
    return this.edges.size;
  }

  /**
   * Applies `update` to the edge under `key` (a new one if none). A complete edge (both services
   * known) is handed to onComplete and removed. A new incomplete edge is refused when the store is full.
   */
  upsert(key: string, rootServer: boolean, now: number, update: (e: Edge) => void): UpsertResult {
    const stored = this.edges.get(key);
    if (stored) {
      update(stored);
      if (!isComplete(stored)) return 'updated';
      this.edges.delete(key);
      this.onComplete(stored);
      return 'completed';
    }
    const e = newEdge(key, rootServer, now + this.ttlMs);
    update(e);
    if (isComplete(e)) {
      this.onComplete(e);
      return 'completed';
    }
    if (this.edges.size >= this.maxItems) {
      // make room from what has expired before refusing
      this.expire(now);
      if (this.edges.size >= this.maxItems) return 'dropped';
    }
    this.edges.set(key, e);
    return 'new';
  }

  /** Hands every edge past its ttl to onExpire. */
  expire(now: number): void {
    for (const [key, e] of this.edges) {
      if (e.expiresAt > now) break;
      this.edges.delete(key);
      this.onExpire(e);
    }
  }

  /** Hands every edge to onExpire: none can be paired any more (shutdown). */
  expireAll(): void {
    for (const e of this.edges.values()) this.onExpire(e);
    this.edges.clear();
  }
}

const isComplete = (e: Edge) => e.clientService !== '' && e.serverService !== '';

function newEdge(key: string, rootServer: boolean, expiresAt: number): Edge {
  return { key, traceId: '', rootServer, connectionType: '', clientService: '', serverService: '', clientLatencySec: 0, serverLatencySec: 0, failed: false, dimensions: {}, peer: '', expiresAt };
}
