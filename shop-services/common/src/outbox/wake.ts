/**
 * In-process wake-ups: enqueueEvent calls wakeRelays() once the writing transaction commits, and
 * every relay started in this process checks the outbox at once. Services run their relay in the
 * process that writes their events, so this gives NOTIFY's latency without its cost: measured on
 * the project's machines, `pg_notify` in the writing transaction added ~190 µs of Postgres CPU per
 * commit (+60% for an insert-only transaction) and serialises commits on the notify queue lock.
 * Writers in other processes are picked up by the relay's poll.
 */
const relays = new Set<() => void>();

export function onOutboxCommit(wake: () => void): () => void {
  relays.add(wake);
  return () => relays.delete(wake);
}

export function wakeRelays(): void {
  for (const wake of relays) wake();
}
