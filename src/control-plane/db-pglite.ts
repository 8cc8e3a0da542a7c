/**
 * The embedded database: PGlite in this process, on disk in a directory or in memory.
 *
 * Kept light, since it is the default: PostgreSQL's shared buffers are 16 MB instead of 128 MB (PGlite touches them
 * all at start, and a control plane's working set is small), and a new database is created by a short-lived child
 * process, because creating one (initdb, in a second WebAssembly instance) takes PGlite to about 800 MB that this
 * process would keep for its whole life; opening the created database costs what a restart does.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, QueryResult, Queryable } from './db.js';

/** PGlite's own start parameters, with smaller shared buffers. */
export const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

function wrap(target: PGlite | Transaction): Queryable {
  const query = async <T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> => {
    const result = await target.query<T>(sql, [...params]);
    return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
  };
  return {
    query,
    // PGlite has no prepared statements to keep: every statement is parsed again.
    prepared: query,
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

export async function openPglite(dir: string | undefined): Promise<Db> {
  if (dir !== undefined && !existsSync(join(dir, 'PG_VERSION'))) await createInChildProcess(dir);
  const pglite = new PGlite(dir, { startParams: PGLITE_START_PARAMS });
  await pglite.waitReady;
  const root = wrap(pglite);
  return {
    kind: 'pglite',
    description: dir === undefined ? 'PGlite in memory (data is lost on exit)' : `PGlite at ${dir}`,
    query: root.query,
    prepared: root.prepared,
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

/**
 * Creates a PGlite database at `dir` in a child process that exits once it is done, so that this process never
 * holds the memory creation takes. It is made beside `dir` and renamed into place: a creation cut short leaves no
 * half-made database where the next start would open it.
 */
async function createInChildProcess(dir: string): Promise<void> {
  const present = await readdir(dir).catch(() => []);
  if (present.length > 0) throw notADatabase(dir, `it holds ${present.length} other file(s)`);
  const making = `${dir}.creating-${process.pid}`;
  await rm(making, { recursive: true, force: true });
  // The child runs PGlite's CommonJS build by path: this module may itself be running from TypeScript sources.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script =
    `const { PGlite } = require(${JSON.stringify(entry)});` +
    'const db = new PGlite(process.argv[1], { startParams: JSON.parse(process.argv[2]) });' +
    'db.waitReady.then(() => db.close()).catch((err) => { process.stderr.write(String(err?.message ?? err)); process.exitCode = 1; });';
  const stderr = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, making, JSON.stringify(PGLITE_START_PARAMS)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let text = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      text = (text + chunk).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve('') : resolve(`exit ${code ?? signal}: ${text.trim()}`)));
  });
  if (stderr !== '') {
    await rm(making, { recursive: true, force: true });
    throw new Error(`Creating the PGlite database in ${dir} failed (${stderr}); check that its folder is writable and the disk has room.`);
  }
  try {
    await rename(making, dir);
  } catch (err) {
    await rm(making, { recursive: true, force: true });
    throw notADatabase(dir, (err as Error).message);
  }
}

function notADatabase(dir: string, why: string): Error {
  return new Error(`${dir} exists but holds no PGlite database (${why}); move it away, or give another --data-dir.`);
}
