/**
 * The web dashboard's server side: its page and bundle, login and logout, and the admin routes only it needs
 * (live streams, run again, stop all running, totals, runners with their current job). The admin routes go behind
 * the admin API's own guard, which accepts the bearer key or, from this origin, the session cookie.
 */
import type { ServerResponse } from 'node:http';
import { ControlPlaneError, invalidRequest } from '../errors.js';
import type { Db } from '../db.js';
import type { Handler, Reply, Route, RouteContext } from '../http-server.js';
import { WakeHub } from '../long-poll.js';
import { CHANNEL_JOB_CHANGED } from '../migrations.js';
import { secretsEqual } from '../tokens.js';
import type { AdapterType } from '../../protocol/types.js';
import type { AdminApi, JobRecord, ListJobsFilter } from '../types.js';
import { parseCompanyId, parseJobStatus } from '../validation.js';
import { cancelRunningJobs, companyStats, currentJobsByToken } from './queries.js';
import { endAllSessions, hasSession, requireSameOrigin, sessionCookie, sessionEpoch, signSession, SESSION_TTL_MS } from './session.js';
import { ANY_JOB_TOPIC, resumeCursor, SSE_HEADERS, streamJob, streamJobList } from './sse.js';
import { loadUiBundle, SECURITY_HEADERS } from './static.js';

export const UI_PREFIX = '/ui';

export interface DashboardDeps {
  db: Db;
  admin: AdminApi;
  adminKey: string;
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

/** The filter of a job list request: the same query parameters as GET /api/admin/jobs. */
function listFilter(ctx: RouteContext): ListJobsFilter {
  const filter: ListJobsFilter = {};
  const status = ctx.query.get('status');
  const companyId = ctx.query.get('companyId');
  const limit = ctx.query.get('limit');
  if (status) filter.status = parseJobStatus(status);
  if (companyId) filter.companyId = parseCompanyId(companyId);
  if (limit) {
    if (!/^\d{1,4}$/.test(limit)) throw invalidRequest(`Query parameter limit must be an integer from 1 to 1000; got "${limit}".`);
    filter.limit = Number(limit);
  }
  return filter;
}

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

export async function startDashboard({ db, admin, adminKey }: DashboardDeps): Promise<Dashboard> {
  const bundle = await loadUiBundle();
  // Any job's change wakes the job-list streams of this server, whichever server made it (NOTIFY).
  const changes = new WakeHub();
  const unlisten = await db.listen(CHANNEL_JOB_CHANGED, () => changes.notify(ANY_JOB_TOPIC));

  const file = (name: string) => {
    const reply = bundle.file(name);
    if (!reply) throw new ControlPlaneError(404, 'not_found', `No dashboard file ${name}; open the dashboard at /.`);
    return reply;
  };
  const sse = (stream: (res: ServerResponse) => Promise<void>): Reply => ({ status: 200, headers: SSE_HEADERS, stream });
  const session = async (ctx: RouteContext) => hasSession(ctx.req, adminKey, await sessionEpoch(db));

  const publicRoutes: Route[] = [
    { method: 'GET', path: '/', handler: async () => file('index.html') },
    // Before /ui/:file. Tells the page whether to show the login form; GET, so no origin check is needed.
    {
      method: 'GET',
      path: `${UI_PREFIX}/session`,
      handler: async (ctx) => ({
        status: 200,
        body: { authenticated: await session(ctx) },
      }),
    },
    { method: 'GET', path: `${UI_PREFIX}/:file`, handler: async (ctx) => file(ctx.params.file!) },
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
        const filter = listFilter(ctx);
        return sse((res) => streamJobList(res, { admin, changes, filter, signal: ctx.signal }));
      },
    },
    {
      method: 'GET',
      path: '/live/jobs/:id',
      handler: async (ctx) => {
        const jobId = (await admin.getJob(ctx.params.id!)).jobId; // a 404 as JSON, before the stream starts
        const after = resumeCursor(ctx.req.headers['last-event-id'], ctx.query.get('after'));
        return sse((res) => streamJob(res, { admin, jobId, after, signal: ctx.signal }));
      },
    },
    {
      method: 'POST',
      path: '/jobs/stop-running',
      handler: async (ctx) => {
        const companyId = ctx.query.get('companyId');
        return { status: 200, body: { cancelled: await cancelRunningJobs(db, companyId ? parseCompanyId(companyId) : undefined) } };
      },
    },
    {
      method: 'POST',
      path: '/jobs/:id/run-again',
      handler: async (ctx) => ({ status: 201, body: await admin.enqueueJob(sameJobAgain(await admin.getJob(ctx.params.id!))) }),
    },
    { method: 'GET', path: '/stats', handler: async () => ({ status: 200, body: { companies: await companyStats(db) } }) },
    {
      method: 'GET',
      path: '/runners',
      handler: async () => {
        const [tokens, current] = await Promise.all([admin.listTokens({ includeRevoked: true }), currentJobsByToken(db)]);
        return { status: 200, body: { runners: tokens.map((token) => ({ ...token, currentJobId: current.get(token.tokenId) ?? null })) } };
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
