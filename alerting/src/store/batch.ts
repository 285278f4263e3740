// Batching of the dispatcher's Postgres work. After a burst of alerts thousands of groups flush within the
// same moment; each flush reads and writes a few rows (its timer state, the notification log, the
// acknowledgement). Calls made within one turn of the event loop are gathered and run as one multi-row
// statement, so a tick of 500 groups costs a handful of round trips instead of a few thousand. Every caller
// still awaits its own result: nothing is acknowledged before its statement ran.
import DataLoader from 'dataloader';

/** Rows per statement at most (bounds parameters and the statement's size). */
export const MAX_BATCH = 1000;

/**
 * A loader without a cache whose batches run one at a time: a batch is sent once the current turn of the
 * event loop is over (setImmediate) and the previous batch of this loader has finished, so the calls that
 * arrive while a statement runs make the next one (group commit). The flushes of every timer that fired in
 * one turn share a batch, and notifications answered one by one are logged a batch at a time.
 */
export function batcher<K, V>(run: (keys: readonly K[]) => Promise<readonly (V | Error)[]>): DataLoader<K, V> {
  let inFlight: Promise<unknown> | undefined;
  const send = (keys: readonly K[]): Promise<readonly (V | Error)[]> => {
    const done = run(keys);
    const settled: Promise<unknown> = done.then(
      () => undefined,
      () => undefined,
    );
    inFlight = settled;
    void settled.then(() => {
      if (inFlight === settled) inFlight = undefined;
    });
    return done;
  };
  return new DataLoader<K, V>(send, {
    cache: false,
    maxBatchSize: MAX_BATCH,
    batchScheduleFn: (dispatch) => {
      const previous = inFlight;
      if (previous) void previous.then(() => setImmediate(dispatch));
      else setImmediate(dispatch);
    },
  });
}
