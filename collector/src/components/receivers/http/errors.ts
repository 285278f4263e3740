// Errors a receiver turns into an HTTP answer: the status, a message naming what was wrong, extra headers.
import { CollectorError } from '../../../pipeline/errors.js';

export class HttpError extends CollectorError {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(`HTTP_${status}`, message);
    this.status = status;
    this.headers = headers;
  }
}

/** The (decompressed) body is over max_request_body_size. */
export class BodyTooLargeError extends HttpError {
  constructor(limit: number) {
    super(413, `request body is larger than the limit of ${limit} bytes (max_request_body_size, counted after decompression)`);
  }
}

/** A Content-Encoding the receiver does not decode. */
export class UnsupportedEncodingError extends HttpError {
  constructor(encoding: string, supported: readonly string[]) {
    super(415, `Content-Encoding "${encoding.slice(0, 40)}" is not supported (use ${supported.join(', ')})`);
  }
}

/** The body could not be read or decompressed (corrupt gzip, client gone mid-body). */
export class BadBodyError extends HttpError {
  constructor(message: string) {
    super(400, message);
  }
}
