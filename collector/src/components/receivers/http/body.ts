// Reads a request body with streaming decompression and a byte limit counted AFTER decompression,
// so a gzip bomb stops at the limit instead of filling memory.
import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate, createInflateRaw, type Gunzip, type Inflate, type InflateRaw } from 'node:zlib';
import { BadBodyError, BodyTooLargeError, UnsupportedEncodingError } from './errors.js';

type Decompressor = Gunzip | Inflate | InflateRaw;

/** Encodings decoded here. Receivers may let others through untouched (Loki's "snappy" is decoded later). */
export const DECODED_ENCODINGS = ['gzip', 'deflate', 'identity'] as const;

export interface ReadBodyOptions {
  /** Maximum body size in bytes, after decompression (and before: the compressed stream is capped too). */
  limit: number;
  /** Content-Encoding values accepted as they are, without decoding. */
  passThrough?: readonly string[];
}

/**
 * After an early answer (too large, corrupt) the rest of the body is read and discarded so the
 * connection stays usable; past this many further bytes the connection is dropped instead.
 */
const DRAIN_CAP = 8 * 1024 * 1024;

/** The whole body, decoded. Rejects with an HttpError (413, 415, 400) that names the problem. */
export function readBody(req: IncomingMessage, opts: ReadBodyOptions): Promise<Buffer> {
  const encoding = contentEncoding(req, opts.passThrough ?? []);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.limit) {
    drain(req);
    return Promise.reject(new BodyTooLargeError(opts.limit));
  }
  return new BodyReader(req, opts.limit, encoding).read();
}

function contentEncoding(req: IncomingMessage, passThrough: readonly string[]): string {
  const raw = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  const enc = raw === 'x-gzip' ? 'gzip' : raw === '' ? 'identity' : raw;
  if ((DECODED_ENCODINGS as readonly string[]).includes(enc) || passThrough.includes(enc)) return enc;
  drain(req);
  throw new UnsupportedEncodingError(raw, [...DECODED_ENCODINGS.filter((e) => e !== 'identity'), ...passThrough]);
}

/** Discards what is left of a body we no longer need, dropping the connection if it goes on too long. */
export function drain(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  let seen = 0;
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_CAP) req.socket.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}

class BodyReader {
  private readonly chunks: Buffer[] = [];
  private rawBytes = 0;
  private outBytes = 0;
  private decompressor: Decompressor | undefined;
  private settled = false;
  private resolve!: (b: Buffer) => void;
  private reject!: (e: Error) => void;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    private readonly encoding: string,
  ) {}

  read(): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.req.on('data', (chunk: Buffer) => this.onRaw(chunk));
      this.req.on('end', () => this.onRawEnd());
      this.req.on('error', () => this.fail(new BadBodyError('the request body was not completely received')));
      this.req.on('close', () => {
        if (!this.req.complete) this.fail(new BadBodyError('the request body was not completely received'));
      });
    });
  }

  private onRaw(chunk: Buffer): void {
    if (this.settled) return;
    this.rawBytes += chunk.length;
    if (this.rawBytes > this.limit) return this.fail(new BodyTooLargeError(this.limit));
    if (this.encoding === 'gzip' || this.encoding === 'deflate') {
      const d = this.decompressor ?? this.startDecompressor(chunk);
      // back-pressure: one compressed chunk can expand a thousandfold
      if (!d.write(chunk)) {
        this.req.pause();
        d.once('drain', () => this.req.resume());
      }
    } else this.onDecoded(chunk);
  }

  private startDecompressor(first: Buffer): Decompressor {
    // "deflate" should be zlib-wrapped (RFC 9110), but some clients send raw deflate: tell them apart by the zlib header
    const zlibWrapped = first.length >= 2 && (first[0]! & 0x0f) === 8 && ((first[0]! << 8) | first[1]!) % 31 === 0;
    const d = this.encoding === 'gzip' ? createGunzip() : zlibWrapped ? createInflate() : createInflateRaw();
    d.on('data', (out: Buffer) => this.onDecoded(out));
    d.on('end', () => this.finish());
    d.on('error', (err) => this.fail(new BadBodyError(`the ${this.encoding} request body could not be decompressed: ${err.message}`)));
    this.decompressor = d;
    return d;
  }

  private onDecoded(chunk: Buffer): void {
    if (this.settled) return;
    this.outBytes += chunk.length;
    if (this.outBytes > this.limit) return this.fail(new BodyTooLargeError(this.limit));
    this.chunks.push(chunk);
  }

  private onRawEnd(): void {
    if (this.settled) return;
    // no decompressor means no bytes arrived: an empty body is empty whatever its encoding
    if (this.decompressor) this.decompressor.end();
    else this.finish();
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    // a body that arrived in one chunk (most OTLP requests) is that chunk: no copy
    this.resolve(this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.outBytes));
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.chunks.length = 0;
    if (this.decompressor) {
      this.decompressor.removeAllListeners('data');
      this.decompressor.on('error', () => undefined);
      this.decompressor.destroy();
    }
    this.req.resume();
    drain(this.req);
    this.reject(err);
  }
}
