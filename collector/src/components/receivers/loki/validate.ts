// Loki's per-stream and per-entry validation (pkg/distributor/validator.go). An invalid stream or
// entry is dropped and reported; the rest of the request is still accepted; the answer is then 400
// with every reason, as Loki answers.
import type { LokiReceiverConfig } from './config.js';
import type { PushEntry, PushStream } from './stream.js';

export interface ValidStream {
  stream: PushStream;
  entries: PushEntry[];
}

export interface Validated {
  streams: ValidStream[];
  /** Entries dropped. */
  rejected: number;
  errors: string[];
}

const NS_PER_MS = 1_000_000n;

function streamProblem(s: PushStream, cfg: LokiReceiverConfig): string | undefined {
  if (s.labels.length === 0) return 'error at least one label pair is required per stream';
  // Loki adds service_name itself, so a client's own service_name does not count against the limit
  const counted = s.labels.filter(([n]) => n !== 'service_name').length;
  if (counted > cfg.max_label_names_per_series) return `entry for stream '${s.labelsText}' has ${counted} label names; limit ${cfg.max_label_names_per_series}`;
  const seen = new Set<string>();
  for (const [name, value] of s.labels) {
    if (name.length > cfg.max_label_name_length) return `stream '${s.labelsText}' has label name too long: '${name}'`;
    if (value.length > cfg.max_label_value_length) return `stream '${s.labelsText}' has label value too long: '${value}'`;
    if (seen.has(name)) return `stream '${s.labelsText}' has duplicate label name: '${name}'`;
    seen.add(name);
  }
  return undefined;
}

function entryProblem(s: PushStream, e: PushEntry, cfg: LokiReceiverConfig, nowNs: bigint): string | undefined {
  const ts = BigInt(e.timeUnixNano);
  if (cfg.reject_old_samples_max_age > 0 && ts < nowNs - BigInt(cfg.reject_old_samples_max_age) * NS_PER_MS) {
    return `entry for stream '${s.labelsText}' has timestamp too old: ${isoOf(ts)}, oldest acceptable timestamp is: ${isoOf(nowNs - BigInt(cfg.reject_old_samples_max_age) * NS_PER_MS)}`;
  }
  if (cfg.creation_grace_period > 0 && ts > nowNs + BigInt(cfg.creation_grace_period) * NS_PER_MS) {
    return `entry for stream '${s.labelsText}' has timestamp too new: ${isoOf(ts)}`;
  }
  const lineBytes = Buffer.byteLength(e.line);
  if (cfg.max_line_size > 0 && lineBytes > cfg.max_line_size) {
    return `max entry size '${cfg.max_line_size}' bytes exceeded for stream '${s.labelsText}' while adding an entry with length '${lineBytes}' bytes`;
  }
  if (e.structuredMetadata.length > 0) {
    const size = e.structuredMetadata.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (cfg.max_structured_metadata_size > 0 && size > cfg.max_structured_metadata_size) {
      return `stream '${s.labelsText}' has structured metadata too large: '${size}' bytes, limit: '${cfg.max_structured_metadata_size}' bytes`;
    }
    const count = e.structuredMetadata.length;
    if (cfg.max_structured_metadata_entries_count > 0 && count > cfg.max_structured_metadata_entries_count) {
      return `stream '${s.labelsText}' has too many structured metadata labels: '${count}', limit: '${cfg.max_structured_metadata_entries_count}'`;
    }
  }
  return undefined;
}

function isoOf(ns: bigint): string {
  const ms = Number(ns / NS_PER_MS);
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : `${ns}ns`;
}

export function validate(streams: PushStream[], cfg: LokiReceiverConfig, nowNs: bigint): Validated {
  const out: Validated = { streams: [], rejected: 0, errors: [] };
  for (const s of streams) {
    if (s.entries.length === 0) continue;
    const problem = streamProblem(s, cfg);
    if (problem) {
      out.errors.push(problem);
      out.rejected += s.entries.length;
      continue;
    }
    const entries: PushEntry[] = [];
    for (const e of s.entries) {
      const p = entryProblem(s, e, cfg, nowNs);
      if (p) {
        out.errors.push(p);
        out.rejected++;
      } else entries.push(e);
    }
    if (entries.length > 0) out.streams.push({ stream: s, entries });
  }
  return out;
}

/** Loki groups repeated errors; a long list is cut, saying how many more there were. */
export function errorText(errors: string[], max = 10): string {
  const shown = errors.slice(0, max).join('\n');
  return errors.length > max ? `${shown}\n(and ${errors.length - max} more errors)` : shown;
}
