/**
 * The admin API over HTTP, under /api/admin: the admin key check, query/body parsing, and a call to the
 * in-process AdminApi (which owns validation and semantics: bodies are passed on as they came and checked
 * there). Runner tokens are never accepted here.
 */
import { ControlPlaneError, invalidRequest } from './errors.js';
import type { Handler, Route, RouteContext } from './http-server.js';
import { ADMIN_API } from './admin-api.js';
import { bearerSecret, secretsEqual } from './tokens.js';
import type { AdminApi, CreateTokenInput, EnqueueJobInput, RotateTokenInput } from './types.js';
import { requireObject } from './validation.js';

export const ADMIN_API_PREFIX = '/api/admin';

const INVALID_ADMIN_KEY_MESSAGE =
  'This route needs the admin key: send "authorization: Bearer <key>". The key is in admin.key in the server\'s data dir ' +
  '(or FOUNDEROS_ADMIN_KEY where the server runs); runner tokens do not work here.';

/** An optional non-negative integer query parameter; range checks are the AdminApi's. */
function queryInt(ctx: RouteContext, name: string): number | undefined {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,9}$/.test(raw)) throw invalidRequest(`Query parameter ${name} must be a non-negative integer; got "${raw}".`);
  return Number(raw);
}

function queryString(ctx: RouteContext, name: string): string | undefined {
  return ctx.query.get(name) ?? undefined;
}

/**
 * Who made an admin request, as a job shows it ("cancelled by the dashboard"): past the guard, a request without an
 * authorization header came with the dashboard's session.
 */
export function caller(ctx: RouteContext): string {
  return ctx.req.headers.authorization === undefined ? 'the dashboard' : ADMIN_API;
}

export interface AdminRoutesOptions {
  admin: AdminApi;
  adminKey: string;
  /** Another way in when no authorization header is sent (the dashboard's session cookie); may throw 403. */
  session?: (ctx: RouteContext) => Promise<boolean>;
  /** More routes behind the same guard, under the same prefix (the dashboard's). */
  extra?: ReadonlyArray<{ method: Route['method']; path: string; handler: Handler }>;
}

/** A job's body holds a prompt and an instructions file of up to 1 Mi characters each, JSON-escaped. */
const JOB_BODY_BYTES = 8 * 1024 * 1024;

export function adminRoutes({ admin, adminKey, session, extra = [] }: AdminRoutesOptions): Route[] {
  const guarded =
    (handler: Handler): Handler =>
    async (ctx) => {
      const header = ctx.req.headers.authorization;
      const secret = bearerSecret(header);
      const admitted = header === undefined ? await session?.(ctx) : secret !== undefined && secretsEqual(secret, adminKey);
      if (!admitted) throw ctx.refuse(new ControlPlaneError(401, 'invalid_admin_key', INVALID_ADMIN_KEY_MESSAGE));
      ctx.authenticated('admin');
      return handler(ctx);
    };
  const ok = (body: unknown, status = 200) => ({ status, body });
  const at = (path: string) => `${ADMIN_API_PREFIX}${path}`;
  const route = (method: Route['method'], path: string, handler: Handler, maxBodyBytes?: number): Route => ({
    method,
    path: at(path),
    handler: guarded(handler),
    maxBodyBytes,
  });

  return [
    // First, so that a fixed path such as /jobs/stop-running wins over /jobs/:id.
    ...extra.map((r) => route(r.method, r.path, r.handler)),
    route('POST', '/tokens', async (ctx) => ok(await admin.createToken((await ctx.readJson()) as CreateTokenInput), 201)),
    route('GET', '/tokens', async (ctx) => {
      const filter: Record<string, unknown> = { includeRevoked: ['1', 'true'].includes(ctx.query.get('includeRevoked') ?? '') };
      if (ctx.query.has('companyId')) filter.companyId = queryString(ctx, 'companyId');
      return ok({ tokens: await admin.listTokens(filter) });
    }),
    route('POST', '/tokens/:id/revoke', async (ctx) => ok(await admin.revokeToken(ctx.param('id')))),
    route('POST', '/tokens/:id/rotate', async (ctx) => {
      const body = (await ctx.readJson()) ?? {};
      return ok(await admin.rotateToken({ ...requireObject(body, 'token rotation'), tokenId: ctx.param('id') } as RotateTokenInput), 201);
    }),
    route('POST', '/jobs', async (ctx) => ok(await admin.enqueueJob((await ctx.readJson()) as EnqueueJobInput), 201), JOB_BODY_BYTES),
    route('GET', '/jobs', async (ctx) => {
      const filter: Record<string, unknown> = { limit: queryInt(ctx, 'limit') };
      if (ctx.query.has('status')) filter.status = queryString(ctx, 'status');
      if (ctx.query.has('companyId')) filter.companyId = queryString(ctx, 'companyId');
      return ok({ jobs: await admin.listJobs(filter) });
    }),
    route('GET', '/jobs/:id', async (ctx) => ok(await admin.getJob(ctx.param('id')))),
    route('POST', '/jobs/:id/cancel', async (ctx) => ok(await admin.cancelJob(ctx.param('id'), caller(ctx)))),
    route('GET', '/jobs/:id/events', async (ctx) =>
      ok(
        await admin.listEvents(ctx.param('id'), {
          after: queryString(ctx, 'after'),
          waitMs: queryInt(ctx, 'waitMs'),
          limit: queryInt(ctx, 'limit'),
          // The client hanging up ends the wait.
          signal: ctx.signal,
        }),
      ),
    ),
  ];
}
