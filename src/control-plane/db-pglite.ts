/** The embedded database: PGlite in this process, on disk in a directory or in memory. */
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, QueryResult, Queryable } from './db.js';

function wrap(target: PGlite | Transaction): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await target.query<T>(sql, [...params]);
      return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

export async function openPglite(dir: string | undefined): Promise<Db> {
  const pglite = dir === undefined ? new PGlite() : new PGlite(dir);
  await pglite.waitReady;
  const root = wrap(pglite);
  return {
    kind: 'pglite',
    description: dir === undefined ? 'PGlite in memory (data is lost on exit)' : `PGlite at ${dir}`,
    query: root.query,
    exec: root.exec,
    // PGlite is one connection: its transaction() holds it exclusively, which also serialises writers.
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    // PGlite implements LISTEN/NOTIFY inside the process, so the same triggers wake long-polls here as on Postgres.
    listen: (channel, onNotify) => pglite.listen(channel, onNotify),
    // In one process, no notification is ever lost.
    watchNotifications: () => () => {},
    close: () => pglite.close(),
  };
}
