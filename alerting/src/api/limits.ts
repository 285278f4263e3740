// Bounds on what one request may carry. Prometheus sends at most a few hundred alerts per POST
// (notifier max batch 256), each with a handful of labels; these bounds are far above that and far
// below what could hurt the engine or Postgres.
export interface ApiLimits {
  /** Bytes of a JSON request body (413 above). */
  maxBodyBytes: number;
  /** Bytes of a form body from the page. */
  maxFormBytes: number;
  /** Labels (and, separately, annotations) per alert or matchers per silence. */
  maxLabels: number;
  maxLabelNameBytes: number;
  maxLabelValueBytes: number;
  /** Alerts in one POST /api/v2/alerts. */
  maxAlertsPerPost: number;
  /** JSON nesting depth of a request body. */
  maxJsonDepth: number;
}

export const defaultLimits: ApiLimits = {
  maxBodyBytes: 1024 * 1024,
  maxFormBytes: 64 * 1024,
  maxLabels: 64,
  maxLabelNameBytes: 1024,
  maxLabelValueBytes: 16 * 1024,
  maxAlertsPerPost: 4096,
  maxJsonDepth: 16,
};
