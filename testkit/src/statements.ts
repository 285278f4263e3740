/** What countStatements needs of a knex instance: its 'query' event (typed structurally; testkit has no knex). */
export interface QueryEmitter {
  on(event: 'query', listener: (q: { sql: string }) => void): unknown;
  removeListener(event: 'query', listener: (q: { sql: string }) => void): unknown;
}

/**
 * The SQL statements `fn` issues through `knex` (BEGIN and COMMIT included), for tests that hold a
 * hot path to a round-trip budget. Statements of other work running meanwhile on the same knex count
 * too: stop pollers first.
 */
export async function countStatements<T>(knex: QueryEmitter, fn: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const onQuery = (q: { sql: string }) => void statements.push(q.sql);
  knex.on('query', onQuery);
  try {
    return { result: await fn(), statements };
  } finally {
    knex.removeListener('query', onQuery);
  }
}
