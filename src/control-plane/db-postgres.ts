/**
 * PostgreSQL through a `pg.Pool`, plus one dedicated connection for LISTEN (a pooled connection cannot listen:
 * it is handed to other queries between uses). The listener reconnects after an error and tells its watchers of
 * the gap, so that the server looks for what went unannounced: a gap in notifications only slows a wake-up, never
 * loses a job.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Db, QueryResult, Queryable } from './db.js';

const RECONNECT_DELAY_MS = 1000;

/** The name of a prepared statement: the same for the same text, on every connection. */
class StatementNames {
  private readonly names = new Map<string, string>();

  of(sql: string): string {
    let name = this.names.get(sql);
    if (name === undefined) this.names.set(sql, (name = `fos_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`));
    return name;
  }
}

function wrap(target: pg.Pool | pg.PoolClient, names: StatementNames): Queryable {
  const answer = <T>(result: pg.QueryResult): QueryResult<T> => ({
    rows: result.rows as T[],
    rowCount: result.rowCount ?? result.rows.length,
  });
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      return answer<T>(await target.query(sql, [...params]));
    },
    async prepared<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      return answer<T>(await target.query({ name: names.of(sql), text: sql, values: [...params] }));
    },
    async exec(sql: string): Promise<void> {
      await target.query(sql);
    },
  };
}

/** `postgres://user@host:port/db`, without the password, for logs and messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

export async function openPostgres(url: string, log: (line: string) => void): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle pooled connection that dies (database restart) must not crash the server; the pool replaces it.
  pool.on('error', (err) => log(`postgres: idle connection error: ${err.message}`));
  // Fail at start-up, with the cause, rather than on the first request.
  await pool.query('SELECT 1');
  const listener = new Listener(url, log);
  const names = new StatementNames();
  const root = wrap(pool, names);
  return {
    kind: 'postgres',
    description: `PostgreSQL at ${redactDatabaseUrl(url)}`,
    query: root.query,
    prepared: root.prepared,
    exec: root.exec,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client, names));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    listen: (channel, onNotify) => listener.listen(channel, onNotify),
    watchNotifications: (onChange) => listener.watch(onChange),
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

/** One LISTEN connection shared by every channel, re-subscribing them all after a reconnect. */
class Listener {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly watchers = new Set<(flowing: boolean) => void>();
  /** Set from a lost connection to the next one that listens again: notifications of that gap are gone. */
  private inGap = false;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly log: (line: string) => void,
  ) {}

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      const client = await this.connect();
      await client.query(`LISTEN ${quoteIdent(channel)}`);
    }
    set.add(onNotify);
    return async () => {
      set.delete(onNotify);
    };
  }

  watch(onChange: (flowing: boolean) => void): () => void {
    this.watchers.add(onChange);
    return () => this.watchers.delete(onChange);
  }

  private tell(flowing: boolean): void {
    this.inGap = !flowing;
    for (const watcher of this.watchers) watcher(flowing);
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url });
      client.on('notification', (msg) => {
        for (const handler of this.handlers.get(msg.channel) ?? []) handler(msg.payload ?? '');
      });
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client));
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
      } catch (err) {
        this.connecting = undefined;
        await client.end().catch(() => {});
        throw err;
      }
      this.client = client;
      this.connecting = undefined;
      if (this.inGap) {
        this.log('postgres: LISTEN connection back; looking for what changed unannounced');
        this.tell(true);
      }
      return client;
    })();
    return this.connecting;
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    this.log(
      `postgres: LISTEN connection lost${err ? ` (${err.message})` : ''}; ` +
        'reconnecting (long-polls look for jobs once a second meanwhile)',
    );
    client.end().catch(() => {});
    this.tell(false);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch((err: Error) => {
        this.log(`postgres: LISTEN reconnect failed (${err.message}); trying again`);
        this.scheduleReconnect();
      });
    }, RECONNECT_DELAY_MS);
    this.reconnectTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
