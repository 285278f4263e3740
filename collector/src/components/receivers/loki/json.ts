// Loki's JSON push: {"streams":[{"stream":{labels},"values":[["<ns>","line",{metadata}]]}]}.
import { isUtf8 } from 'node:buffer';
import { LABEL_NAME } from './labels.js';
import { formatLabels, PushDecodeError, type LabelPairs, type PushEntry, type PushStream } from './stream.js';

const NANOS = /^\d{1,19}$/;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const scalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

function labelsOf(v: unknown, where: string): LabelPairs {
  if (!isObject(v)) throw new PushDecodeError(`${where}: "stream" must be an object of labels, got ${kind(v)}`);
  return Object.entries(v).map(([name, value]) => {
    if (!LABEL_NAME.test(name)) throw new PushDecodeError(`${where}: couldn't parse labels: invalid label name ${JSON.stringify(name.slice(0, 100))}`);
    if (!scalar(value)) throw new PushDecodeError(`${where}: label ${name} must have a string value, got ${kind(value)}`);
    return [name, String(value)];
  });
}

function metadataOf(v: unknown, where: string): LabelPairs {
  if (v === undefined) return [];
  if (!isObject(v)) throw new PushDecodeError(`${where}: structured metadata (the third element) must be an object, got ${kind(v)}`);
  // the query-response shape {"structuredMetadata": {...}, "parsed": {...}} is accepted too, as Loki does
  const source = isObject(v.structuredMetadata) ? v.structuredMetadata : v;
  const out: LabelPairs = [];
  for (const [name, value] of Object.entries(source)) {
    if (isObject(value)) continue;
    if (!scalar(value)) throw new PushDecodeError(`${where}: structured metadata ${JSON.stringify(name.slice(0, 100))} must be a string, got ${kind(value)}`);
    out.push([name, String(value)]);
  }
  return out;
}

function entryOf(v: unknown, where: string): PushEntry {
  if (!Array.isArray(v) || v.length < 2 || v.length > 3) throw new PushDecodeError(`${where}: must be ["<unix epoch in nanoseconds>", "<log line>"] with optional structured metadata, got ${kind(v)}`);
  const [ts, line, metadata] = v as unknown[];
  if (typeof ts !== 'string') throw new PushDecodeError(`${where}: the timestamp must be a string of nanoseconds since the epoch, got ${kind(ts)}`);
  if (!NANOS.test(ts)) throw new PushDecodeError(`${where}: the timestamp ${JSON.stringify(ts.slice(0, 40))} is not an integer number of nanoseconds since the epoch`);
  if (typeof line !== 'string') throw new PushDecodeError(`${where}: the log line must be a string, got ${kind(line)}`);
  return { timeUnixNano: ts.replace(/^0+(?=\d)/, ''), line, structuredMetadata: metadataOf(metadata, where) };
}

function streamOf(v: unknown, i: number): PushStream {
  if (!isObject(v)) throw new PushDecodeError(`streams[${i}] must be an object, got ${kind(v)}`);
  const labels = labelsOf(v.stream ?? {}, `streams[${i}]`);
  const labelsText = formatLabels(labels);
  const values = v.values ?? [];
  if (!Array.isArray(values)) throw new PushDecodeError(`stream ${labelsText}: "values" must be an array, got ${kind(values)}`);
  return { labelsText, labels, entries: values.map((e, j) => entryOf(e, `stream ${labelsText} entry ${j}`)) };
}

/** A JSON push body (already decompressed) → streams. Throws PushDecodeError naming the stream and entry. */
export function decodeJsonPush(body: Buffer): PushStream[] {
  if (!isUtf8(body)) throw new PushDecodeError('the JSON body is not valid UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new PushDecodeError(`the body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new PushDecodeError(`the body must be a JSON object {"streams": [...]}, got ${kind(parsed)}`);
  const streams = parsed.streams ?? [];
  if (!Array.isArray(streams)) throw new PushDecodeError(`"streams" must be an array, got ${kind(streams)}`);
  return streams.map(streamOf);
}
