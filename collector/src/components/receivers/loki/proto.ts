// Loki's protobuf push: a logproto.PushRequest compressed with block (raw) snappy.
import { isUtf8 } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { parseLabels } from './labels.js';
import { PushDecodeError, type PushEntry, type PushStream } from './stream.js';

const PROTO_DIR = fileURLToPath(new URL('../../../../proto/', import.meta.url));

let pushRequest: protobuf.Type | undefined;
function pushRequestType(): protobuf.Type {
  if (!pushRequest) {
    const root = new protobuf.Root();
    // gogoproto options only shape generated Go code: skip that import; google/protobuf/timestamp is bundled with protobufjs
    root.resolvePath = (_origin, target) => (target.startsWith('gogoproto/') ? null : join(PROTO_DIR, target)) as string;
    root.loadSync('loki/push.proto', { keepCase: true });
    pushRequest = root.lookupType('logproto.PushRequest');
  }
  return pushRequest;
}

/** Proto3 strings must be UTF-8; Loki (Go) refuses the request otherwise, and so do we. */
class Utf8CheckingReader extends protobuf.Reader {
  override string(): string {
    const bytes = this.bytes();
    if (!isUtf8(bytes)) throw new Error('a string field is not valid UTF-8');
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }
}

interface RawEntry {
  timestamp?: { seconds?: string; nanos?: number };
  line?: string;
  structuredMetadata?: { name?: string; value?: string }[];
}
interface RawStream {
  labels?: string;
  entries?: RawEntry[];
}

const NS_PER_S = 1_000_000_000n;

function entryOf(e: RawEntry): PushEntry {
  const seconds = BigInt(e.timestamp?.seconds ?? '0');
  const nanos = BigInt(e.timestamp?.nanos ?? 0);
  const ns = seconds * NS_PER_S + nanos;
  return {
    timeUnixNano: (ns < 0n ? 0n : ns).toString(),
    line: e.line ?? '',
    structuredMetadata: (e.structuredMetadata ?? []).map((m) => [m.name ?? '', m.value ?? '']),
  };
}

/** Snappy-compressed PushRequest bytes → streams. `limit` caps the uncompressed size (read from the snappy header before allocating). */
export function decodeProtoPush(body: Uint8Array, limit: number): PushStream[] {
  let raw: Uint8Array;
  try {
    raw = snappy.uncompress(body, limit);
  } catch (err) {
    throw new PushDecodeError(`the body is not valid block-snappy data (Loki's protobuf push is snappy-compressed): ${(err as Error).message}`);
  }
  let request: { streams?: RawStream[] };
  try {
    const type = pushRequestType();
    request = type.toObject(type.decode(new Utf8CheckingReader(raw)), { longs: String, defaults: false }) as { streams?: RawStream[] };
  } catch (err) {
    throw new PushDecodeError(`the body is not a valid logproto.PushRequest: ${(err as Error).message}`);
  }
  return (request.streams ?? []).map((s) => {
    const labelsText = s.labels ?? '';
    return { labelsText, labels: parseLabels(labelsText), entries: (s.entries ?? []).map(entryOf) };
  });
}
