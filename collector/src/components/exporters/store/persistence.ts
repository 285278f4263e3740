// Keeps the store across restarts: every accepted batch is appended as one NDJSON line to the active segment file
// before consume() resolves; on start the segments are replayed in order. A sealed segment is deleted once nothing
// in it is still held in memory (its traces evicted, its log records overwritten); when many sealed segments pile
// up anyway (old traces that keep getting spans), the in-memory state is rewritten as one snapshot segment.
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { DecodedLogRecord, DecodedSpan, ResourceInfo } from '../../../otlp/types.js';
import { CollectorError } from '../../../pipeline/errors.js';

export type Entry = { kind: 'traces'; items: readonly DecodedSpan[] } | { kind: 'logs'; items: readonly DecodedLogRecord[] };

export class PersistenceError extends CollectorError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORE_PERSISTENCE', message, options);
  }
}

interface Segment {
  id: number;
  path: string;
  liveTraces: number;
  /** Highest log seq written to it (0 = none). */
  maxLogSeq: number;
  sealed: boolean;
}

interface Line {
  k: 't' | 'l';
  r: ResourceInfo[];
  i: Record<string, unknown>[];
}

const NAME = /^segment-(\d{10})(\.snapshot)?\.ndjson$/;
const fileName = (id: number, snapshot = false) => `segment-${String(id).padStart(10, '0')}${snapshot ? '.snapshot' : ''}.ndjson`;

/** One line per batch; resources (shared by reference in memory) are written once per line. */
export function encodeEntry(e: Entry): string {
  const resources: ResourceInfo[] = [];
  const index = new Map<ResourceInfo, number>();
  const items = e.items.map((it) => {
    let i = index.get(it.resource);
    if (i === undefined) {
      i = resources.length;
      resources.push(it.resource);
      index.set(it.resource, i);
    }
    return { ...it, resource: i };
  });
  return `${JSON.stringify({ k: e.kind === 'traces' ? 't' : 'l', r: resources, i: items })}\n`;
}

export function decodeEntry(text: string): Entry {
  const line = JSON.parse(text) as Line;
  if ((line.k !== 't' && line.k !== 'l') || !Array.isArray(line.r) || !Array.isArray(line.i)) throw new PersistenceError('not a store segment line');
  const resources = line.r.map((r) => ({ ...r }));
  const items = line.i.map((it) => {
    const resource = resources[it.resource as number];
    if (!resource || typeof it !== 'object') throw new PersistenceError('bad item in segment line');
    return { ...it, resource };
  });
  return line.k === 't' ? { kind: 'traces', items: items as unknown as DecodedSpan[] } : { kind: 'logs', items: items as unknown as DecodedLogRecord[] };
}

export interface PersistenceOptions {
  directory: string;
  fsync: boolean;
  segmentMaxBytes: number;
  /** Sealed segments tolerated before a snapshot compaction. */
  maxSealedSegments?: number;
}

export class SegmentFiles {
  private readonly segments = new Map<number, Segment>();
  private readonly traceSegments = new Map<string, Set<number>>();
  private active: { seg: Segment; fh: FileHandle; bytes: number } | undefined;
  private nextId = 1;

  constructor(
    private readonly opts: PersistenceOptions,
    private readonly logger: Logger,
  ) {}

  /** Replays every segment in order through `apply` (which returns the log seq reached), then opens a new segment. */
  async open(apply: (e: Entry, segmentId: number) => void): Promise<{ entries: number; skipped: number }> {
    await mkdir(this.opts.directory, { recursive: true });
    const files = (await readdir(this.opts.directory))
      .map((f) => ({ f, m: NAME.exec(f) }))
      .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
      .map((x) => ({ file: x.f, id: Number(x.m[1]), snapshot: x.m[2] !== undefined }))
      .sort((a, b) => a.id - b.id);
    // a snapshot supersedes every older segment (they may survive a crash during compaction)
    const lastSnapshot = files.filter((f) => f.snapshot).at(-1)?.id ?? 0;
    let entries = 0;
    let skipped = 0;
    for (const f of files) {
      const path = join(this.opts.directory, f.file);
      if (f.id < lastSnapshot) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      const seg: Segment = { id: f.id, path, liveTraces: 0, maxLogSeq: 0, sealed: true };
      this.segments.set(f.id, seg);
      const r = await this.replayFile(seg, apply);
      entries += r.entries;
      skipped += r.skipped;
      this.nextId = Math.max(this.nextId, f.id + 1);
    }
    await this.openActive();
    if (skipped) this.logger.warn({ skipped, directory: this.opts.directory }, 'store: skipped unreadable segment lines (a write cut short by a crash)');
    return { entries, skipped };
  }

  private async replayFile(seg: Segment, apply: (e: Entry, segmentId: number) => void): Promise<{ entries: number; skipped: number }> {
    let entries = 0;
    let skipped = 0;
    const lines = createInterface({ input: createReadStream(seg.path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const text of lines) {
      if (text.trim() === '') continue;
      let e: Entry;
      try {
        e = decodeEntry(text);
      } catch {
        skipped++;
        continue;
      }
      apply(e, seg.id);
      entries++;
    }
    return { entries, skipped };
  }

  private async openActive(): Promise<void> {
    const id = this.nextId++;
    const seg: Segment = { id, path: join(this.opts.directory, fileName(id)), liveTraces: 0, maxLogSeq: 0, sealed: false };
    const fh = await open(seg.path, 'a');
    this.segments.set(id, seg);
    this.active = { seg, fh, bytes: 0 };
  }

  /** Appends one batch to the active segment; resolves once written (and fsynced, when configured). */
  async append(e: Entry): Promise<number> {
    if (!this.active) throw new PersistenceError('persistence is closed');
    const line = encodeEntry(e);
    try {
      await this.active.fh.write(line);
      if (this.opts.fsync) await this.active.fh.datasync();
    } catch (err) {
      throw new PersistenceError(`cannot write ${this.active.seg.path}: ${(err as Error).message}`, { cause: err });
    }
    this.active.bytes += Buffer.byteLength(line);
    return this.active.seg.id;
  }

  /** The trace has data in the segment: the segment stays until the trace is evicted. */
  noteTrace(traceId: string, segmentId: number): void {
    const set = this.traceSegments.get(traceId) ?? new Set<number>();
    if (set.has(segmentId)) return;
    set.add(segmentId);
    this.traceSegments.set(traceId, set);
    const seg = this.segments.get(segmentId);
    if (seg) seg.liveTraces++;
  }

  noteLogs(segmentId: number, maxSeq: number): void {
    const seg = this.segments.get(segmentId);
    if (seg) seg.maxLogSeq = Math.max(seg.maxLogSeq, maxSeq);
  }

  traceEvicted(traceId: string): void {
    for (const id of this.traceSegments.get(traceId) ?? []) {
      const seg = this.segments.get(id);
      if (seg) seg.liveTraces--;
    }
    this.traceSegments.delete(traceId);
  }

  /** Rotates a full segment and deletes sealed ones nothing in memory needs. True when a compaction is due. */
  async maintain(oldestLogSeq: number): Promise<boolean> {
    if (this.active && this.active.bytes >= this.opts.segmentMaxBytes) {
      await this.active.fh.close();
      this.active.seg.sealed = true;
      await this.openActive();
    }
    for (const seg of [...this.segments.values()]) {
      if (seg.sealed && seg.liveTraces <= 0 && seg.maxLogSeq < oldestLogSeq) {
        await unlink(seg.path).catch(() => undefined);
        this.segments.delete(seg.id);
      }
    }
    const sealed = [...this.segments.values()].filter((s) => s.sealed).length;
    return sealed > (this.opts.maxSealedSegments ?? 32);
  }

  /**
   * Rewrites the whole in-memory state as one snapshot segment, then drops every older segment. `traces` are the
   * live traces' spans in insertion order; `logs` the ring oldest first, ending at log seq `maxLogSeq`.
   */
  async compact(traces: { traceId: string; spans: readonly DecodedSpan[] }[], logs: readonly DecodedLogRecord[], maxLogSeq: number): Promise<void> {
    const id = this.nextId++;
    const tmp = join(this.opts.directory, `${fileName(id)}.tmp`);
    const path = join(this.opts.directory, fileName(id, true));
    const fh = await open(tmp, 'w');
    try {
      for (const t of traces) await fh.write(encodeEntry({ kind: 'traces', items: t.spans }));
      for (let i = 0; i < logs.length; i += 1000) await fh.write(encodeEntry({ kind: 'logs', items: logs.slice(i, i + 1000) }));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const old = [...this.segments.values()];
    if (this.active) await this.active.fh.close();
    this.active = undefined;
    for (const seg of old) await unlink(seg.path).catch(() => undefined);
    this.segments.clear();
    this.traceSegments.clear();
    const snap: Segment = { id, path, liveTraces: 0, maxLogSeq: logs.length ? maxLogSeq : 0, sealed: true };
    this.segments.set(id, snap);
    for (const t of traces) this.noteTrace(t.traceId, id);
    await this.openActive();
  }

  get segmentCount(): number {
    return this.segments.size;
  }

  async close(): Promise<void> {
    if (!this.active) return;
    const fh = this.active.fh;
    this.active = undefined;
    await fh.sync().catch(() => undefined);
    await fh.close();
  }
}
