import { asyncScheduler, map, throwError, timeout, type Observable, type SchedulerLike } from 'rxjs';
import { meaningOf, retryAfterMs, type AnswerMeaning, type AnsweredRoute } from '../../protocol/answers.js';
import { PROTOCOL_WAIT_SEC, readWaitPreference, waitPreference } from '../../protocol/prefer-wait.js';
import { check, checkJobPayload, jobIdProblem, JobDescriptorSchema, readErrorBody, type Checked } from '../../protocol/schemas.js';
import {
  EXCLUDE_ADAPTER_TYPES_PARAM,
  type CompletionBody,
  type JobDescriptor,
  type JobPayload,
  type RunnerEvent,
} from '../../protocol/types.js';
import { describeValue, parseJsonOrUndefined } from '../../protocol/values.js';
import { AnswerTimeoutError, ApiError, MalformedAnswerError, TokenRejectedError } from './errors.js';
import { firstDeadlineMs, headProbe, lively, LIVENESS, type Liveness, type LivenessTimings } from './liveness.js';
import { ServerHealth } from './server-health.js';
import { ANSWER_LIMITS, createTransport, runnerApiUrl, type Exchange, type Reply } from './transport.js';

/** `waitAppliedSec`: the wait the server says it applied to this poll (Part 2, `Preference-Applied`), if it said. */
export type NextJobOutcome = ({ kind: 'job'; job: JobDescriptor } | { kind: 'empty' }) & { waitAppliedSec?: number };

/** An answer about a job, in the words of answers.ts. */
type JobOutcome<M extends AnswerMeaning> = M extends AnswerMeaning ? { kind: M } : never;

/**
 * `malformed`: the server claimed the job for this runner but its payload cannot be run (the claim must not be
 * retried: the job is this runner's now, to be failed with `problems`).
 */
export type ClaimOutcome =
  | { kind: 'claimed'; payload: JobPayload }
  | { kind: 'malformed'; problems: string[]; requestId?: string }
  | JobOutcome<'job_ended' | 'job_gone'>;
export type AppendOutcome = JobOutcome<'accepted' | 'job_ended' | 'job_gone'>;
export type CompleteOutcome = JobOutcome<'accepted' | 'job_ended' | 'job_gone'>;
export type HeartbeatOutcome = JobOutcome<'accepted' | 'job_ended' | 'job_gone' | 'route_missing'>;

export interface RunnerApiOptions {
  serverUrl: string;
  token: string;
  userAgent: string;
  /** How long a long-poll of the protocol's 30 s may take, answer included; a longer wait asked for adds to it. */
  longPollTimeoutMs?: number;
  /** How long any other request may take, answer included. */
  requestTimeoutMs?: number;
  /** What the answers tell of the server; pass the one the delivery reads (default: one of this client's own). */
  health?: ServerHealth;
  /** The timings of events batches and completions on a dead path (default {@link LIVENESS}). */
  liveness?: Partial<LivenessTimings>;
  /** Where every deadline and wait is timed (default `asyncScheduler`). */
  scheduler?: SchedulerLike;
}

/**
 * The runner endpoints of the protocol, each a cold Observable that sends one request per subscription, aborts it on
 * unsubscribe, and gives the answer's meaning (answers.ts) as an outcome, or as an error for the pipeline's retry
 * policy. Nothing is retried here. Events batches and completions are idempotent, so they go under the liveness rules.
 */
export interface RunnerApi {
  /**
   * The long-poll. `excluded` names the adapter types the runner is not taking now (Part 2: a server that knows the
   * `excludeAdapterTypes` parameter offers no job of them; one that does not ignores it). `waitSec` is the wait asked
   * for (Part 2, `Prefer: wait`; default the protocol's 30 s): a server that does not know it holds the poll 30 s.
   */
  nextJob(excluded?: readonly string[], waitSec?: number): Observable<NextJobOutcome>;
  claim(jobId: string): Observable<ClaimOutcome>;
  /** `batch` is the events, or the request body already serialized (as the spool keeps it). */
  appendEvents(jobId: string, batch: readonly RunnerEvent[] | string): Observable<AppendOutcome>;
  complete(jobId: string, body: CompletionBody): Observable<CompleteOutcome>;
  heartbeat(jobId: string): Observable<HeartbeatOutcome>;
}

/** How a route reads its answers: a 2xx, and the meanings it gives as outcomes rather than errors. */
interface RouteAnswers<T> extends AnsweredRoute {
  accepted: (reply: Reply) => T;
  outcomes?: Partial<Record<AnswerMeaning, T>>;
}

const PART_1 = { extension: false } as const;
const PART_2 = { extension: true } as const;
/** The answers about a job that end it for this runner, on every job route. */
const JOB_OVER = { job_ended: { kind: 'job_ended' }, job_gone: { kind: 'job_gone' } } as const;
const ACCEPTED = () => ({ kind: 'accepted' }) as const;

export function createRunnerApi(options: RunnerApiOptions): RunnerApi {
  const scheduler = options.scheduler ?? asyncScheduler;
  const health = options.health ?? new ServerHealth();
  const send = createTransport({ ...options, health, scheduler });
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const longPollTimeoutMs = options.longPollTimeoutMs ?? 60_000;
  const liveness: Liveness = {
    timings: { ...LIVENESS, ...options.liveness },
    // The long-poll's address: the control plane refuses it without a token (401) at once, before any database work.
    probe: headProbe(runnerApiUrl(options.serverUrl, 'jobs/next')),
    health,
    scheduler,
  };

  function request<T>(exchange: Exchange, answers: RouteAnswers<T>, timeoutMs = requestTimeoutMs): Observable<T> {
    const route = routeName(exchange);
    return send(exchange).pipe(
      timeout({ first: timeoutMs, with: () => throwError(() => new AnswerTimeoutError(route, timeoutMs)), scheduler }),
      map((reply) => outcomeOf(route, reply, answers, scheduler.now())),
    );
  }

  /** A POST that may be sent again, the same bytes: an events batch (one event per eventId), a completion (then 409). */
  function idempotentPost<T>(path: string, body: string, answers: RouteAnswers<T>): Observable<T> {
    const exchange: Exchange = { method: 'POST', path, body, limitBytes: ANSWER_LIMITS.other };
    const route = routeName(exchange);
    const deadlines = { firstMs: firstDeadlineMs(liveness.timings, Buffer.byteLength(body), requestTimeoutMs), maxMs: requestTimeoutMs };
    return lively(route, send(exchange), deadlines, liveness).pipe(map((reply) => outcomeOf(route, reply, answers, scheduler.now())));
  }

  return {
    nextJob: (excluded = [], waitSec = PROTOCOL_WAIT_SEC) =>
      request<NextJobOutcome>(
        { method: 'GET', path: longPollPath(excluded), limitBytes: ANSWER_LIMITS.other, prefer: waitPreference(waitSec) },
        {
          ...PART_1,
          accepted: (reply) => {
            const applied = readWaitPreference(reply.preferenceApplied);
            const waited = applied === undefined ? {} : { waitAppliedSec: applied };
            if (reply.status === 204) return { kind: 'empty', ...waited };
            const checked = readJson(reply, 'GET jobs/next', ANSWER_LIMITS.other, (value) => check(JobDescriptorSchema, value));
            if (!checked.ok) throw new MalformedAnswerError('GET jobs/next', requestIdIn(reply), checked.problems);
            return { kind: 'job', job: checked.value, ...waited };
          },
        },
        longPollTimeoutMs + Math.max(0, waitSec - PROTOCOL_WAIT_SEC) * 1000,
      ),
    claim: (jobId) =>
      forJob(jobId, 'claim', (path) =>
        request<ClaimOutcome>(
          { method: 'POST', path, limitBytes: ANSWER_LIMITS.claim },
          {
            ...PART_1,
            accepted: (reply) => {
              const checked = readJson(reply, `POST ${path}`, ANSWER_LIMITS.claim, (value) => checkJobPayload(value, jobId));
              return checked.ok
                ? { kind: 'claimed', payload: checked.value }
                : { kind: 'malformed', problems: checked.problems, requestId: requestIdIn(reply) };
            },
            outcomes: JOB_OVER,
          },
        ),
      ),
    appendEvents: (jobId, batch) =>
      forJob(jobId, 'events', (path) =>
        idempotentPost<AppendOutcome>(path, typeof batch === 'string' ? batch : JSON.stringify({ events: batch }), {
          ...PART_1,
          accepted: ACCEPTED,
          outcomes: JOB_OVER,
        }),
      ),
    complete: (jobId, body) =>
      forJob(jobId, 'complete', (path) =>
        idempotentPost<CompleteOutcome>(path, JSON.stringify(body), { ...PART_1, accepted: ACCEPTED, outcomes: JOB_OVER }),
      ),
    heartbeat: (jobId) =>
      forJob(jobId, 'heartbeat', (path) =>
        request<HeartbeatOutcome>(
          { method: 'POST', path, limitBytes: ANSWER_LIMITS.other },
          { ...PART_2, accepted: ACCEPTED, outcomes: { ...JOB_OVER, route_missing: { kind: 'route_missing' } } },
        ),
      ),
  };
}

/** The long-poll's path, with the adapter types the runner is not taking now, if any. */
function longPollPath(excluded: readonly string[]): string {
  return excluded.length ? `jobs/next?${new URLSearchParams({ [EXCLUDE_ADAPTER_TYPES_PARAM]: excluded.join(',') })}` : 'jobs/next';
}

/** Refused before anything is sent: an unsafe id would change the URL's path (`..`) or not encode at all (a lone surrogate). */
function forJob<T>(jobId: string, action: string, request: (path: string) => Observable<T>): Observable<T> {
  const problem = jobIdProblem(jobId);
  if (problem) return throwError(() => new Error(`refusing to send ${action} for this job: ${problem}`));
  return request(`jobs/${jobId}/${action}`);
}

/** What `reply` means on its route: the route's reading of a 2xx, its outcome for a meaning it gives one, else an error. */
function outcomeOf<T>(route: string, reply: Reply, answers: RouteAnswers<T>, nowMs: number): T {
  const error = reply.status >= 300 ? readErrorBody(parseJsonOrUndefined(reply.text)) : {};
  const meaning = meaningOf(reply.status, error.error, answers);
  if (meaning === 'accepted') return answers.accepted(reply);
  const outcome = answers.outcomes?.[meaning];
  if (outcome !== undefined) return outcome;
  const requestId = reply.requestId ?? error.requestId;
  if (reply.status === 401) throw new TokenRejectedError(route, error.error, requestId, reply.text, error.expiredAt);
  throw new ApiError(reply.status, route, error.error, requestId, reply.text, {
    extension: answers.extension,
    retryAfterMs: meaning === 'busy' ? retryAfterMs(reply.retryAfter, nowMs) : undefined,
  });
}

/** A 2xx body as JSON, checked by `checker`. */
function readJson<T>(reply: Reply, route: string, limitBytes: number, checker: (value: unknown) => Checked<T>): Checked<T> {
  if (!reply.complete)
    return { ok: false, problems: [`the answer is over ${formatBytes(limitBytes)}, the most the runner reads from ${route}`] };
  const value = parseJsonOrUndefined(reply.text);
  if (value === undefined) return { ok: false, problems: [`the answer is not JSON (it starts ${describeValue(reply.text, 80)})`] };
  return checker(value);
}

/** The request id of an answer: the x-request-id header, else a `requestId` in its body. */
function requestIdIn(reply: Reply): string | undefined {
  if (reply.requestId !== undefined || !reply.complete) return reply.requestId;
  return readErrorBody(parseJsonOrUndefined(reply.text)).requestId;
}

function routeName({ method, path }: Exchange): string {
  return `${method} ${path}`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}
