// The push request as both wire formats decode it, before validation.

export type LabelPairs = [name: string, value: string][];

export interface PushEntry {
  /** Nanoseconds since the epoch, decimal. */
  timeUnixNano: string;
  line: string;
  structuredMetadata: LabelPairs;
}

export interface PushStream {
  /** The labels as the client wrote them, for error messages (`{app="x"}`). */
  labelsText: string;
  labels: LabelPairs;
  entries: PushEntry[];
}

/** The push request itself is malformed: answered 400 and nothing of it is kept (as Loki does). */
export class PushDecodeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PushDecodeError';
  }
}

/** `{a="b", c="d"}`, as Loki prints a label set. */
export function formatLabels(labels: LabelPairs): string {
  return `{${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}
