/**
 * `startControlPlane`: open the database, migrate, wire the store, wake-ups, lease sweeper, admin API and HTTP
 * routes together, and listen. `close()` takes it all down in the reverse order.
 */
import { join } from 'node:path';
import { createAdminApi } from './admin-api.js';
import { resolveAdminKey, type ResolvedAdminKey } from './admin-key.js';
import { startDashboard } from './dashboard/routes.js';
import { openDb } from './db.js';
import { createHttpServer, DEFAULT_REQUESTS_PER_PRINCIPAL, type Route } from './http-server.js';
import { startLeaseSweeper } from './lease-sweeper.js';
import { Dispatcher } from './dispatcher.js';
import { listenForChanges, RECHECK_INTERVAL_MS, WakeHub } from './long-poll.js';
import { migrate } from './migrations.js';
import { makePrivateDir, makePrivateTree } from './private-dir.js';
import { adminRoutes } from './routes-admin.js';
import { runnerRoutes } from './routes-runner.js';
import { createStore } from './store/index.js';
import type { AdminApi, LeaseExpiryAction } from './types.js';
import { MAX_TOKEN_TTL_SEC } from './validation.js';

const DAY_SEC = 24 * 3600;

export interface ControlPlaneOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /**
   * Where the server keeps its state: PGlite's database in `<dataDir>/pglite` and `admin.key`. Undefined: in memory.
   * Made private (0700, files 0600) at every start, whatever its mode was.
   */
  dataDir?: string;
  /** postgres://… : PostgreSQL instead of PGlite (dataDir then holds only admin.key). */
  databaseUrl?: string;
  /** How long GET /jobs/next holds a request when nothing is queued. Default 30000. */
  longPollMs?: number;
  /**
   * The longest a runner may ask GET /jobs/next to wait (Part 2, `Prefer: wait=<seconds>`): a runner that waits
   * longer polls less often, which is most of what ten thousand waiting runners cost. Default 300000, or `longPollMs`
   * when that is set below the protocol's 30 s (a proxy's timeout, usually); never below `longPollMs`.
   */
  maxLongPollMs?: number;
  /**
   * How often an admin's wait for a job's events re-checks the database even without a wake-up. Default 1000. The
   * wake-ups (NOTIFY) make it answer at once; this only bounds the delay if a notification is ever lost. A runner's
   * long-poll never re-checks on a timer: it sleeps until its company's next queued job is announced.
   */
  longPollRecheckMs?: number;
  /**
   * How many `GET /jobs/next` one runner token may hold waiting at once on this server; past it the server answers
   * 429 with Retry-After. Default 100.
   */
  maxPollsPerToken?: number;
  /** How long a job whose runner sends heartbeats lives without a heartbeat or event batch. Default 60000. */
  leaseMs?: number;
  /**
   * How long after queueing a job whose runner has sent no heartbeat (a Part-1 runner, which never does) is
   * given up, unless event batches keep coming. Default 30 min, the cloud's limit.
   */
  part1JobLimitMs?: number;
  /** How many days a new runner token is valid unless its creator says otherwise. Default 90, the protocol's. */
  tokenTtlDays?: number;
  /** What happens to a job whose lease expires. Default 'fail' (errorMessage "runner lost"). */
  onLeaseExpiry?: LeaseExpiryAction;
  /** Else FOUNDEROS_ADMIN_KEY, else `<dataDir>/admin.key` (created on first start, mode 0600), else random. */
  adminKey?: string;
  /** The most an events batch may hold. Default 10 MiB: the protocol's (and the cloud's) 10 MB, read generously. */
  maxBodyBytes?: number;
  /**
   * Connections held at once. Past it the oldest one that serves no authenticated request is closed to make room,
   * or, when every one does, the new one gets a 503. Default: below the open-file limit (`ulimit -n`), at most 32,768.
   */
  maxConnections?: number;
  /**
   * The most a job's events may take (their payloads as JSON text): past it, a batch is refused with 413
   * `job_storage_quota_exceeded`, which the runner reports in the job's completion. Default 1 GiB.
   */
  maxJobEventBytes?: number;
  /** One line per request and event worth knowing; silent by default. Never receives a secret. */
  log?: (line: string) => void;
  /** Serve the web dashboard at / (default true). */
  ui?: boolean;
}

export interface ControlPlane {
  /** e.g. http://127.0.0.1:8787 */
  url: string;
  adminKey: string;
  /** Where the admin key came from, and its file when there is one. */
  adminKeySource: ResolvedAdminKey['source'];
  adminKeyFile: string | undefined;
  /** Where the data lives, e.g. "PGlite at /…/pglite". */
  storage: string;
  /** The web dashboard's address, or undefined when it is turned off. */
  dashboardUrl: string | undefined;
  /** In-process admin calls, with the same semantics as the HTTP admin API. */
  admin: AdminApi;
  /** Ends long-polls with 204, waits for in-flight requests, closes the server and the database. */
  close(): Promise<void>;
}

export const DEFAULT_LONG_POLL_MS = 30_000;
export const DEFAULT_MAX_LONG_POLL_MS = 300_000;
export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_PART1_JOB_LIMIT_MS = 30 * 60_000;
export const DEFAULT_TOKEN_TTL_DAYS = 90;
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_JOB_EVENT_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_MAX_POLLS_PER_TOKEN = 100;
export const PGLITE_SUBDIR = 'pglite';

function positive(value: number | undefined, name: string, fallback: number, unit = 'milliseconds'): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of ${unit}; got ${value}.`);
  return Math.round(value);
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const longPollMs = positive(options.longPollMs, 'longPollMs', DEFAULT_LONG_POLL_MS);
  // A window set shorter than the protocol's is usually a proxy's timeout: the longest wait follows it unless set too.
  const maxLongPollMs = Math.max(
    longPollMs,
    positive(options.maxLongPollMs, 'maxLongPollMs', longPollMs < DEFAULT_LONG_POLL_MS ? longPollMs : DEFAULT_MAX_LONG_POLL_MS),
  );
  const leaseMs = positive(options.leaseMs, 'leaseMs', DEFAULT_LEASE_MS);
  const recheckMs = positive(options.longPollRecheckMs, 'longPollRecheckMs', RECHECK_INTERVAL_MS);
  const part1JobLimitMs = positive(options.part1JobLimitMs, 'part1JobLimitMs', DEFAULT_PART1_JOB_LIMIT_MS);
  const maxBodyBytes = positive(options.maxBodyBytes, 'maxBodyBytes', DEFAULT_MAX_BODY_BYTES, 'bytes');
  const maxJobEventBytes = positive(options.maxJobEventBytes, 'maxJobEventBytes', DEFAULT_MAX_JOB_EVENT_BYTES, 'bytes');
  const maxPollsPerToken = options.maxPollsPerToken ?? DEFAULT_MAX_POLLS_PER_TOKEN;
  if (!Number.isInteger(maxPollsPerToken) || maxPollsPerToken < 1) {
    throw new Error(`maxPollsPerToken must be a whole number above 0; got ${maxPollsPerToken}.`);
  }
  const tokenTtlDays = options.tokenTtlDays ?? DEFAULT_TOKEN_TTL_DAYS;
  if (!Number.isFinite(tokenTtlDays) || tokenTtlDays <= 0 || tokenTtlDays * DAY_SEC > MAX_TOKEN_TTL_SEC) {
    throw new Error(`tokenTtlDays must be a number of days above 0 and at most ${MAX_TOKEN_TTL_SEC / DAY_SEC}; got ${tokenTtlDays}.`);
  }
  if (options.maxConnections !== undefined && (!Number.isInteger(options.maxConnections) || options.maxConnections < 1)) {
    throw new Error(`maxConnections must be a whole number above 0; got ${options.maxConnections}.`);
  }
  const onLeaseExpiry = options.onLeaseExpiry ?? 'fail';
  if (onLeaseExpiry !== 'fail' && onLeaseExpiry !== 'requeue') {
    throw new Error(`onLeaseExpiry must be 'fail' or 'requeue'; got ${String(onLeaseExpiry)}.`);
  }

  if (options.dataDir !== undefined) await makePrivateDir(options.dataDir);
  const adminKey = await resolveAdminKey({ adminKey: options.adminKey, dataDir: options.dataDir });
  const pgliteDir = options.dataDir === undefined || options.databaseUrl !== undefined ? undefined : join(options.dataDir, PGLITE_SUBDIR);
  const db = await openDb({ databaseUrl: options.databaseUrl, pgliteDir, log });
  // From here on, a failure must not leave the database open.
  const cleanup: Array<() => Promise<void>> = [() => db.close()];
  const unwind = async () => {
    for (const step of cleanup.reverse()) await step().catch((err: Error) => log(`close: ${err.message}`));
  };
  try {
    if (pgliteDir !== undefined) await makePrivateTree(pgliteDir);
    const applied = await migrate(db);
    if (applied.length > 0) log(`database: applied migrations ${applied.join(', ')} (${db.description})`);

    const store = createStore(db, { leaseMs, part1JobLimitMs, maxJobEventBytes, tokenTtlSec: Math.round(tokenTtlDays * DAY_SEC) });
    cleanup.push(() => store.tokens.flushTouches());
    const hub = new WakeHub();
    const dispatcher = new Dispatcher({ jobs: store.runnerJobs, tokens: store.tokens, maxPollsPerToken, log });
    cleanup.push(async () => dispatcher.close());
    cleanup.push(await listenForChanges(db, { dispatcher, tokens: store.tokens, hub }));
    const sweeper = startLeaseSweeper({ jobs: store.runnerJobs, leaseMs, onLeaseExpiry, log });
    cleanup.push(() => sweeper.stop());

    const closing = new AbortController();
    const admin = createAdminApi({ tokens: store.tokens, jobs: store.adminJobs, hub, closing: closing.signal, recheckMs });
    // Asked every few seconds by whatever watches the server: a healthy answer is not worth a log line each time.
    const health: Route = {
      method: 'GET',
      path: '/healthz',
      handler: async () => ({ status: 200, body: { status: 'ok' } }),
      quietStatuses: [200],
    };
    // A runner asks again as soon as a long-poll ends: one not seen for the longest long-poll and a minute is not running.
    const dashboard =
      options.ui === false
        ? undefined
        : await startDashboard({ db, admin, adminKey: adminKey.key, onlineWithinMs: maxLongPollMs + 60_000 });
    if (dashboard) cleanup.push(() => dashboard.close());
    const http = createHttpServer({
      routes: [
        health,
        ...runnerRoutes({
          tokens: store.tokens,
          jobs: store.runnerJobs,
          dispatcher,
          longPollMs,
          maxLongPollMs,
          maxPollsPerToken,
          maxEventsBodyBytes: maxBodyBytes,
        }),
        ...adminRoutes({ admin, adminKey: adminKey.key, session: dashboard?.session, extra: dashboard?.adminRoutes }),
        ...(dashboard?.publicRoutes ?? []),
      ],
      maxConnections: options.maxConnections,
      // A token's waiting long-polls are capped by the dispatcher; its other requests (batches, heartbeats) need room too.
      maxRequestsPerPrincipal: maxPollsPerToken + DEFAULT_REQUESTS_PER_PRINCIPAL,
      log,
    });
    const url = await http.listen(options.host ?? '127.0.0.1', options.port ?? 0);
    cleanup.push(async () => {
      closing.abort();
      await http.close();
    });

    let closed: Promise<void> | undefined;
    return {
      url,
      adminKey: adminKey.key,
      adminKeySource: adminKey.source,
      adminKeyFile: adminKey.file,
      storage: db.description,
      dashboardUrl: dashboard ? `${url}/` : undefined,
      admin,
      close: () => (closed ??= unwind()),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
