// Batching of the dispatcher's Postgres work. After a burst of alerts thousands of groups flush within the
// same moment; each flush reads and writes a few rows (its timer state, the notification log, the
// acknowledgement). Calls made within one turn of the event loop are gathered and run as one multi-row
// statement, so a tick of 500 groups costs a handful of round trips instead of a few thousand. Every caller
// still awaits its own result: nothing is acknowledged before its statement ran.
import DataLoader from 'dataloader';

/** Rows per statement at most (bounds parameters and the statement's size). */
export const MAX_BATCH = 1000;

/**
 * A loader without a cache whose batch runs once the current turn of the event loop is over (setImmediate):
 * the flushes of every timer that fired in this turn share it.
 */
export function batcher<K, V>(run: (keys: readonly K[]) => Promise<readonly (V | Error)[]>): DataLoader<K, V> {
  return new DataLoader<K, V>(run, { cache: false, maxBatchSize: MAX_BATCH, batchScheduleFn: (callback) => setImmediate(callback) });
}
