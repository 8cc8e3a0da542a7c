/**
 * The web dashboard's server side: its page and bundle, login and logout, and the admin routes only it needs
 * (live streams, the job list's pages and facets, a transcript as JSONL, run again, stop all running, totals and
 * costs per day, runners with their current job). The admin routes go behind
 * the admin API's own guard, which accepts the bearer key or, from this origin, the session cookie.
 */
import type { ServerResponse } from 'node:http';
import { ControlPlaneError } from '../errors.js';
import type { Db } from '../db.js';
import type { Handler, Reply, Route, RouteContext } from '../http-server.js';
import { WakeHub } from '../long-poll.js';
import { CHANNEL_JOB_CHANGED } from '../migrations.js';
import { caller } from '../routes-admin.js';
import { secretsEqual } from '../tokens.js';
import type { AdapterType } from '../../protocol/types.js';
import type { AdminApi, JobRecord, TokenInfo } from '../types.js';
import { parseCompanyId } from '../validation.js';
import { costReport, parseCostRange } from './costs.js';
import { jobFacets, parseJobListQuery, readJobListPage, streamJobListPage } from './job-list.js';
import { cancelRunningJobs, companyStats, currentJobsByToken } from './queries.js';
import { endAllSessions, hasSession, requireSameOrigin, sessionCookie, sessionEpoch, signSession, SESSION_TTL_MS } from './session.js';
import { ANY_JOB_TOPIC, resumeCursor, SSE_HEADERS, streamJob, streamJobLines } from './sse.js';
import { loadUiBundle, SECURITY_HEADERS } from './static.js';

export const UI_PREFIX = '/ui';

export interface DashboardDeps {
  db: Db;
  admin: AdminApi;
  adminKey: string;
  /** A runner seen within this long is online: it asks for work at least once a long-poll. */
  onlineWithinMs: number;
}

/** A runner token as the Runners page lists it: whether its runner is online, and the job it runs now. */
export interface RunnerInfo extends TokenInfo {
  online: boolean;
  currentJobId: string | null;
}

export interface Dashboard {
  /** Routes anyone may call: the page, its files, login and logout. */
  publicRoutes: Route[];
  /** Routes for the admin guard, relative to /api/admin. */
  adminRoutes: Array<{ method: Route['method']; path: string; handler: Handler }>;
  /** The admin guard's other way in: a valid session cookie (same-origin for state changes). */
  session: (ctx: RouteContext) => Promise<boolean>;
  close(): Promise<void>;
}

const WRONG_KEY_MESSAGE =
  "That is not this server's admin key. It is in admin.key in the server's data dir (or FOUNDEROS_ADMIN_KEY where the server runs); " +
  'paste it whole, without spaces.';

/** The most a login body holds: `{"adminKey": "…"}` with room to spare. */
const LOGIN_BODY_BYTES = 4 * 1024;

/** The same job again: same company, agent, prompt, session to resume, adapter, directories and runtime config. */
function sameJobAgain(job: JobRecord) {
  return {
    companyId: job.companyId,
    agentId: job.agentId,
    agentName: job.agentName,
    prompt: job.prompt,
    ...(job.sessionId === null ? {} : { sessionId: job.sessionId }),
    ...(job.adapterType === null ? {} : { adapterType: job.adapterType as AdapterType }),
    addDirs: job.addDirs,
    runtimeConfig: job.runtimeConfig,
  };
}

export async function startDashboard({ db, admin, adminKey, onlineWithinMs }: DashboardDeps): Promise<Dashboard> {
  const bundle = await loadUiBundle();
  // Any job's change wakes the job-list streams of this server, whichever server made it (NOTIFY).
  const changes = new WakeHub();
  const unlisten = await db.listen(CHANNEL_JOB_CHANGED, () => changes.notify(ANY_JOB_TOPIC));

  const file = (name: string, ctx: RouteContext) => {
    const reply = bundle.file(name, ctx.req.headers);
    if (!reply) throw new ControlPlaneError(404, 'not_found', `No dashboard file ${name}; open the dashboard at /.`);
    return reply;
  };
  const sse = (stream: (res: ServerResponse) => Promise<void>): Reply => ({ status: 200, headers: SSE_HEADERS, stream });
  const session = async (ctx: RouteContext) => hasSession(ctx.req, adminKey, await sessionEpoch(db));

  const publicRoutes: Route[] = [
    { method: 'GET', path: '/', handler: async (ctx) => file('index.html', ctx) },
    // Before /ui/:file. Tells the page whether to show the login form; GET, so no origin check is needed.
    {
      method: 'GET',
      path: `${UI_PREFIX}/session`,
      handler: async (ctx) => ({
        status: 200,
        body: { authenticated: await session(ctx) },
      }),
    },
    { method: 'GET', path: `${UI_PREFIX}/:file`, handler: async (ctx) => file(ctx.param('file'), ctx) },
    {
      method: 'POST',
      path: `${UI_PREFIX}/login`,
      maxBodyBytes: LOGIN_BODY_BYTES,
      handler: async (ctx) => {
        // Before the body is read: a page of another origin costs no read at all, and a login body is small.
        requireSameOrigin(ctx.req);
        const body = (await ctx.readJson()) as { adminKey?: unknown } | undefined;
        const presented = typeof body?.adminKey === 'string' ? body.adminKey.trim() : '';
        if (presented === '' || !secretsEqual(presented, adminKey)) {
          throw ctx.refuse(new ControlPlaneError(401, 'invalid_admin_key', WRONG_KEY_MESSAGE));
        }
        const cookie = sessionCookie(ctx.req, signSession(adminKey, await sessionEpoch(db)), SESSION_TTL_MS / 1000);
        return { status: 204, headers: { ...SECURITY_HEADERS, 'set-cookie': cookie } };
      },
    },
    {
      method: 'POST',
      path: `${UI_PREFIX}/logout`,
      handler: async (ctx) => {
        requireSameOrigin(ctx.req);
        // Only a valid session ends the sessions: a script that forges the Origin header must not log every admin out.
        if (await session(ctx)) await endAllSessions(db);
        return { status: 204, headers: { ...SECURITY_HEADERS, 'set-cookie': sessionCookie(ctx.req, '', 0) } };
      },
    },
  ];

  const adminRoutes: Dashboard['adminRoutes'] = [
    {
      method: 'GET',
      path: '/live/jobs',
      handler: async (ctx) => {
        const query = parseJobListQuery(ctx.query); // a 400 as JSON, before the stream starts
        return sse((res) => streamJobListPage(res, { db, changes, query, signal: ctx.signal }));
      },
    },
    // The same page once, for a script or a client without streams.
    {
      method: 'GET',
      path: '/jobs/page',
      handler: async (ctx) => ({ status: 200, body: await readJobListPage(db, parseJobListQuery(ctx.query)) }),
    },
    { method: 'GET', path: '/jobs/facets', handler: async () => ({ status: 200, body: await jobFacets(db) }) },
    {
      method: 'GET',
      path: '/jobs/:id/events.jsonl',
      handler: async (ctx) => {
        const jobId = (await admin.getJob(ctx.param('id'))).jobId;
        return {
          status: 200,
          headers: {
            'content-type': 'application/x-ndjson; charset=utf-8',
            'content-disposition': `attachment; filename="job-${jobId}.jsonl"`,
            'cache-control': 'no-store',
          },
          stream: (res) => streamJobLines(res, { admin, jobId, signal: ctx.signal }),
        };
      },
    },
    {
      method: 'GET',
      path: '/live/jobs/:id',
      handler: async (ctx) => {
        const jobId = (await admin.getJob(ctx.param('id'))).jobId; // a 404 as JSON, before the stream starts
        const after = resumeCursor(ctx.req.headers['last-event-id'], ctx.query.get('after'));
        return sse((res) => streamJob(res, { admin, jobId, after, signal: ctx.signal }));
      },
    },
    {
      method: 'POST',
      path: '/jobs/stop-running',
      handler: async (ctx) => {
        const companyId = ctx.query.get('companyId');
        return {
          status: 200,
          body: { cancelled: await cancelRunningJobs(db, caller(ctx), companyId ? parseCompanyId(companyId) : undefined) },
        };
      },
    },
    {
      method: 'POST',
      path: '/jobs/:id/run-again',
      handler: async (ctx) => ({ status: 201, body: await admin.enqueueJob(sameJobAgain(await admin.getJob(ctx.param('id')))) }),
    },
    { method: 'GET', path: '/stats', handler: async () => ({ status: 200, body: { companies: await companyStats(db) } }) },
    { method: 'GET', path: '/costs', handler: async (ctx) => ({ status: 200, body: await costReport(db, parseCostRange(ctx.query)) }) },
    {
      method: 'GET',
      path: '/runners',
      handler: async () => {
        const [tokens, current] = await Promise.all([admin.listTokens({ includeRevoked: true }), currentJobsByToken(db)]);
        const now = Date.now();
        const runners = tokens.map(
          (token): RunnerInfo => ({
            ...token,
            online: token.revokedAt === null && token.lastUsedAt !== null && now - Date.parse(token.lastUsedAt) < onlineWithinMs,
            currentJobId: current.get(token.tokenId) ?? null,
          }),
        );
        return { status: 200, body: { runners } };
      },
    },
  ];

  return {
    publicRoutes,
    adminRoutes,
    session,
    close: () => unlisten(),
  };
}
