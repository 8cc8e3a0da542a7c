/**
 * The one database interface the store is written against. PGlite (Postgres in WebAssembly, in-process) is the
 * embedded default; PostgreSQL via `pg.Pool` serves many servers on one database. Both run the same SQL with
 * `$n` parameters, so nothing above this file knows which one it talks to.
 */

export interface QueryResult<T> {
  rows: T[];
  /** Rows returned or changed. */
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /**
   * The same as `query`, for a statement run again and again with other parameters (the runners' calls): PostgreSQL
   * parses and plans it once per connection instead of at every call. Its text must not vary with the data, since
   * each connection keeps one prepared statement per distinct text.
   */
  prepared<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Runs one or more statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Where the data lives, for people (never includes a password). */
  readonly description: string;
  /** Runs `fn` in one transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** LISTEN on a channel; resolves to an unsubscribe function. Notifications arrive after their transaction commits. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Calls `onChange(false)` when notifications may be missed from now on (the connection that listens was lost)
   * and `onChange(true)` once they flow again. Returns an unsubscribe function.
   */
  watchNotifications(onChange: (flowing: boolean) => void): () => void;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  /** PGlite's directory; undefined keeps the database in memory. Ignored when `databaseUrl` is set. */
  pgliteDir?: string;
  /** `postgres://…` (or `postgresql://…`): use PostgreSQL instead of PGlite. */
  databaseUrl?: string;
  log?: (line: string) => void;
}

export async function openDb(options: OpenDbOptions): Promise<Db> {
  if (options.databaseUrl !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(options.databaseUrl)) {
      throw new Error(
        'The database URL must start with postgres:// or postgresql:// (e.g. postgres://user:pass@host:5432/founderos); ' +
          'leave it out to use the embedded PGlite database.',
      );
    }
    const { openPostgres } = await import('./db-postgres.js');
    return openPostgres(options.databaseUrl, options.log ?? (() => {}));
  }
  const { openPglite } = await import('./db-pglite.js');
  return openPglite(options.pgliteDir);
}
