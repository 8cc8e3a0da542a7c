/**
 * The runner protocol (docs/protocol.md: Part 1, plus the Part 2 heartbeat and usage limits, docs/usage-limits.md)
 * under /api/runner. Each handler:
 * authenticate the token, validate the input, one store call, map the outcome to the protocol's status and code.
 */
import { readWaitPreference, waitPreference } from '../protocol/prefer-wait.js';
import { isUuid, readExcludedAdapterTypes } from '../protocol/schemas.js';
import { EXCLUDE_ADAPTER_TYPES_PARAM, RUNNER_API_PREFIX } from '../protocol/types.js';
import { ControlPlaneError, invalidRequest, jobNotFound, RetryLaterError } from './errors.js';
import type { Dispatcher } from './dispatcher.js';
import type { Handler, Reply, Route, RouteContext } from './http-server.js';
import type { JobAccess, RunnerJobStore } from './store/runner-jobs.js';
import type { Authentication, RunnerIdentity, TokenStore } from './store/tokens.js';
import { AcceptedSecrets } from './refusal-throttle.js';
import { bearerSecret, presentedSecret } from './tokens.js';
import { parseCompletion, parseEventBatch, parseHeartbeat } from './validation.js';

export interface RunnerRoutesDeps {
  tokens: TokenStore;
  jobs: RunnerJobStore;
  dispatcher: Dispatcher;
  longPollMs: number;
  /** The longest wait a runner may ask for (`Prefer: wait`). */
  maxLongPollMs: number;
  /** The dispatcher's cap, named in the 429's message. */
  maxPollsPerToken: number;
  /** The most an events batch may hold: the protocol's 10 MB. Only an authenticated runner's batch is read. */
  maxEventsBodyBytes: number;
}

/** A completion holds an error message of up to 64 Ki characters, JSON-escaped, beside a few small fields. */
const COMPLETION_BODY_BYTES = 512 * 1024;
/** As long as the runner itself gives a request: a 10 MB batch on a slow uplink still arrives. */
const EVENTS_BODY_TIMEOUT_MS = 60_000;

const INVALID_TOKEN_MESSAGE =
  'The runner token is unknown, malformed or revoked. Create a new one with ' +
  '"founderos-runner admin tokens create --company <id>" and start the runner with it.';

const NO_CONTENT: Reply = { status: 204 };

type RunnerHandler = (ctx: RouteContext, runner: RunnerIdentity, jobId: string) => Promise<Reply>;

export function runnerRoutes(deps: RunnerRoutesDeps): Route[] {
  const { tokens, jobs, dispatcher, longPollMs, maxLongPollMs, maxPollsPerToken, maxEventsBodyBytes } = deps;
  const accepted = new AcceptedSecrets();

  /**
   * The runner behind the request's token. A client past its wrong tokens gets a 429 without a lookup, unless it
   * presents a token accepted lately: runners sharing an address with a prober keep working.
   */
  async function authenticate(ctx: RouteContext): Promise<RunnerIdentity> {
    const bearer = bearerSecret(ctx.req.headers.authorization);
    if (bearer === undefined) throw ctx.refuse(invalidToken());
    const secret = presentedSecret(bearer);
    if (ctx.refusalsUsedUp() && !accepted.has(secret)) throw ctx.refuse(invalidToken());
    let runner: RunnerIdentity;
    try {
      runner = admit(await tokens.authenticate(secret, ctx.req.headers['user-agent']));
    } catch (err) {
      throw err instanceof ControlPlaneError && err.status === 401 ? ctx.refuse(err) : err;
    }
    accepted.add(secret);
    ctx.authenticated(`runner token ${runner.tokenId}`);
    ctx.note('token', runner.preview);
    return runner;
  }

  /** Authenticated, with a job id; a job id that is not a UUID cannot exist, so it is a 404 like any unknown one. */
  const forJob =
    (handler: RunnerHandler): Handler =>
    async (ctx) => {
      const runner = await authenticate(ctx);
      const jobId = ctx.param('id');
      if (!isUuid(jobId)) throw jobNotFound(jobId);
      ctx.note('job', jobId);
      return handler(ctx, runner, jobId.toLowerCase());
    };

  /**
   * Authenticated once; then the poll sleeps in the dispatcher until a job is offered to it, its window ends, or
   * its token is revoked or expires while it waits (a 401 then, never a job). The window is the protocol's, or the
   * wait the runner asked for (Part 2, `Prefer: wait`) within this server's limit, said back in `Preference-Applied`.
   */
  const nextJob: Handler = async (ctx) => {
    const runner = await authenticate(ctx);
    // Part 2: the adapter types the runner is not taking now (a CLI of its paused by a usage limit).
    const excluded = readExcludedAdapterTypes(ctx.query.get(EXCLUDE_ADAPTER_TYPES_PARAM));
    if (!excluded.ok) throw invalidRequest(excluded.problems.join('; '));
    const askedSec = readWaitPreference(ctx.req.headers.prefer);
    const waitMs = askedSec === undefined ? longPollMs : Math.min(askedSec * 1000, maxLongPollMs);
    const outcome = await dispatcher.wait(runner, excluded.value, waitMs, ctx.signal);
    const headers = askedSec === undefined ? undefined : { 'preference-applied': waitPreference(Math.floor(waitMs / 1000)) };
    switch (outcome.kind) {
      case 'job':
        return { status: 200, body: outcome.job, headers };
      case 'empty':
        return headers ? { status: 204, headers } : NO_CONTENT;
      case 'refused':
        throw refusal(outcome.auth);
      case 'busy':
        throw new RetryLaterError(
          429,
          'too_many_long_polls',
          `This token already holds as many waiting GET /jobs/next as the server allows (${maxPollsPerToken}); ` +
            `poll again in ${outcome.retryAfterSec}s, and give each runner a token of its own ` +
            '("founderos-runner admin tokens create --company <id>").',
          outcome.retryAfterSec,
        );
    }
  };

  const claim = forJob(async (_ctx, runner, jobId) => {
    const outcome = await jobs.claimJob(jobId, runner);
    if (outcome.kind === 'claimed') return { status: 200, body: outcome.payload };
    if (outcome.kind === 'not_found') throw jobNotFound(jobId);
    throw new ControlPlaneError(
      409,
      'job_not_claimable',
      `Job ${jobId} is no longer queued (another runner claimed it, or it finished); go back to polling.`,
    );
  });

  const events = forJob(async (ctx, runner, jobId) => {
    const batch = parseEventBatch(await ctx.readJson());
    const outcome = await jobs.appendEvents(jobId, runner, batch);
    if (outcome.kind === 'quota_exceeded') throw quotaExceeded(jobId, outcome.storedBytes, outcome.quotaBytes);
    if (outcome.kind !== 'ok') throw accessError(outcome, jobId, 'events');
    return NO_CONTENT;
  });

  const complete = forJob(async (ctx, runner, jobId) => {
    const body = parseCompletion(await ctx.readJson());
    const access = await jobs.completeJob(jobId, runner, body);
    if (access.kind !== 'ok') throw accessError(access, jobId, 'complete');
    return NO_CONTENT;
  });

  const heartbeat = forJob(async (ctx, runner, jobId) => {
    parseHeartbeat(await ctx.readJson());
    const access = await jobs.heartbeat(jobId, runner);
    if (access.kind !== 'ok') throw accessError(access, jobId, 'heartbeat');
    return NO_CONTENT;
  });

  const at = (path: string) => `${RUNNER_API_PREFIX}${path}`;
  // Only what a runner was refused is logged: a job's life (claimed, streaming, completed) is in the database, and a
  // line per request cost the server about 15 % of its time under many runners (bench/load.mjs --profile).
  return [
    { method: 'GET', path: at('/jobs/next'), handler: nextJob, quietStatuses: [200, 204] },
    { method: 'POST', path: at('/jobs/:id/claim'), handler: claim, quietStatuses: [200] },
    {
      method: 'POST',
      path: at('/jobs/:id/events'),
      handler: events,
      quietStatuses: [204],
      maxBodyBytes: maxEventsBodyBytes,
      bodyTimeoutMs: EVENTS_BODY_TIMEOUT_MS,
    },
    { method: 'POST', path: at('/jobs/:id/complete'), handler: complete, quietStatuses: [204], maxBodyBytes: COMPLETION_BODY_BYTES },
    { method: 'POST', path: at('/jobs/:id/heartbeat'), handler: heartbeat, quietStatuses: [204] },
  ];
}

/** The runner a token stands for, or the protocol's 401. */
function admit(auth: Authentication): RunnerIdentity {
  if (auth.kind === 'ok') return auth.runner;
  throw refusal(auth);
}

/** The protocol's 401 for a token that is not (or no longer) good. */
function refusal(auth: Exclude<Authentication, { kind: 'ok' }>): ControlPlaneError {
  switch (auth.kind) {
    case 'expired':
      return new ControlPlaneError(
        401,
        'runner_token_expired',
        `The runner token ${auth.preview}… expired at ${auth.expiredAt}. ` +
          'Rotate it with "founderos-runner admin tokens rotate <tokenId>" ' +
          '(the id is in "founderos-runner admin tokens list") and restart the runner with the new token.',
        undefined,
        { expiredAt: auth.expiredAt },
      );
    case 'invalid':
      return invalidToken();
  }
}

/** One answer for missing, malformed, unknown and revoked tokens: a prober learns nothing. */
function invalidToken(): ControlPlaneError {
  return new ControlPlaneError(401, 'invalid_runner_token', INVALID_TOKEN_MESSAGE);
}

/**
 * A batch past the job's storage quota: a 4xx other than 401/403/404/409, which a runner counts as a refused batch
 * and reports in the job's completion; it keeps sending the rest (a smaller batch may still fit).
 */
function quotaExceeded(jobId: string, storedBytes: number, quotaBytes: number): ControlPlaneError {
  const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;
  return new ControlPlaneError(
    413,
    'job_storage_quota_exceeded',
    `Job ${jobId} has stored ${mib(storedBytes)} of events; this batch would take it past its quota of ${mib(quotaBytes)} ` +
      '(server --max-job-events-mb), so it was not stored. The transcript of this job is incomplete from here.',
  );
}

/** The protocol's answer when a runner may not act on a job, per call. */
function accessError(
  access: Exclude<JobAccess, { kind: 'ok' }>,
  jobId: string,
  call: 'events' | 'complete' | 'heartbeat',
): ControlPlaneError {
  switch (access.kind) {
    case 'not_found':
      return new ControlPlaneError(
        404,
        'job_not_found',
        `No job ${jobId} for this token (unknown, or another company's); stop the agent and do not retry.`,
      );
    case 'terminal':
      return call === 'complete'
        ? new ControlPlaneError(
            409,
            'job_already_terminal',
            `Job ${jobId} is already ${access.status}; its result was recorded before. Treat it as done.`,
          )
        : new ControlPlaneError(
            409,
            'job_terminal',
            `Job ${jobId} is ${access.status} on the server; stop the agent and report its completion.`,
          );
    case 'not_owned':
      // Part 2: a heartbeat answers 409 when the job was taken away, so the runner stops the agent and completes it.
      return new ControlPlaneError(
        call === 'heartbeat' ? 409 : 403,
        'job_not_owned_by_token',
        `Job ${jobId} is not claimed by this token (its lease expired and it was requeued, or another runner claimed it); ` +
          'stop the agent and do not retry.',
      );
  }
}
