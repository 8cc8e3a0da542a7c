import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import ky, { type KyInstance } from 'ky';
import { Observable } from 'rxjs';
import { is } from 'valibot';
import {
  check,
  checkJobPayload,
  jobIdProblem,
  JobDescriptorSchema,
  readErrorBody,
  RequestIdSchema,
  type Checked,
} from '../protocol/schemas.js';
import { RUNNER_API_PREFIX, type CompletionBody, type JobDescriptor, type JobPayload, type RunnerEvent } from '../protocol/types.js';
import { describeValue, parseJsonOrUndefined } from '../protocol/values.js';

/**
 * How much of an answer the runner reads, per route, before it stops reading: a server (or anything posing as one)
 * that answers with gigabytes cannot grow the runner's memory past these. A claim's payload holds the prompt and
 * the agent's instructions, which may be large (whole files pasted in), so it gets 16 MiB, above the 10 MB the cloud
 * accepts for any request body; every other answer is a few hundred bytes of JSON, and gets 64 KiB.
 */
export const ANSWER_LIMITS = { claim: 16 * 1024 * 1024, other: 64 * 1024 } as const;
/** How much of an error answer is shown in a message. */
const ERROR_BODY_SNIPPET_CHARS = 300;

/** A response the runner did not expect; `status` lets `isTransientError` decide whether to retry. */
export class ApiError extends Error {
  override readonly name: string = 'ApiError';
  constructor(
    readonly status: number,
    readonly route: string,
    readonly code: string | undefined,
    readonly requestId: string | undefined,
    readonly body: string,
  ) {
    super(
      `server answered ${status}${code ? ` ${code}` : ''} to ${route}` +
        `${requestId ? ` (requestId ${requestId})` : ''}${body && !code ? `: ${describeValue(body, ERROR_BODY_SNIPPET_CHARS)}` : ''}`,
    );
  }
}

/** A 401: the token is wrong, revoked or expired. Never retried. */
export class TokenRejectedError extends ApiError {
  override readonly name = 'TokenRejectedError';
  constructor(
    route: string,
    code: string | undefined,
    requestId: string | undefined,
    body: string,
    readonly expiredAt: string | undefined,
  ) {
    super(401, route, code, requestId, body);
  }
  get expired(): boolean {
    return this.code === 'runner_token_expired';
  }
}

/**
 * A 3xx. Following it would send the token, and the agent's output, to wherever the server points (a 307 re-sends a
 * POST's body), and would take jobs from another origin: the "https, or http only to this machine" rule is checked
 * on --server-url alone. It carries no `status`, so the pipeline retries it with backoff like a failing server:
 * the runner stays up, says what is wrong at every try, and goes on once the server or the URL is fixed.
 */
export class RedirectRefusedError extends Error {
  override readonly name = 'RedirectRefusedError';
  constructor(
    readonly route: string,
    readonly redirectStatus: number,
    readonly location: string | undefined,
    readonly requestId: string | undefined,
  ) {
    const target = location === undefined ? '(no location)' : describeValue(location, 200);
    super(
      `server answered ${redirectStatus} to ${route}, a redirect to ${target}${requestId ? ` (requestId ${requestId})` : ''}, ` +
        "which the runner does not follow: it would send the token and the agent's output there. " +
        'Set --server-url (FOUNDEROS_RUNNER_URL) to the address the control plane really serves from',
    );
  }
}

/**
 * A 2xx whose body is not what the protocol says (not JSON, the wrong shape, an unsafe job id, too big). It carries
 * no `status`, so a long-poll answered with garbage is retried with backoff, not hammered, and never ends the runner.
 */
export class MalformedAnswerError extends Error {
  override readonly name = 'MalformedAnswerError';
  constructor(
    readonly route: string,
    readonly requestId: string | undefined,
    readonly problems: readonly string[],
  ) {
    super(
      `server answered ${route} with something the runner cannot use${requestId ? ` (requestId ${requestId})` : ''}: ` +
        `${problems.join('; ')}. It was skipped. ` +
        'Check that --server-url is the address of a FounderOS control plane; if it is, quote the requestId to its operators',
    );
  }
}

/** No complete answer (headers and body) within the route's time; named like ky's own, which callers recognise. */
export class AnswerTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(route: string, timeoutMs: number) {
    super(`no complete answer to ${route} within ${timeoutMs / 1000} s`);
  }
}

export type NextJobOutcome = { kind: 'job'; job: JobDescriptor } | { kind: 'empty' };
/**
 * `malformed`: the server claimed the job for this runner but its payload cannot be run (the claim must not be
 * retried: the job is this runner's now, to be failed with `problems`).
 */
export type ClaimOutcome =
  | { kind: 'claimed'; payload: JobPayload }
  | { kind: 'malformed'; problems: string[]; requestId?: string }
  | { kind: 'lost' }
  | { kind: 'gone' };
/** `terminal`: the job ended on the server (409); `gone`: it is not this runner's any more (403/404). */
export type AppendOutcome = { kind: 'ok' } | { kind: 'terminal' } | { kind: 'gone' };
export type CompleteOutcome = { kind: 'ok' } | { kind: 'already_terminal' } | { kind: 'gone' };
/** `unsupported`: a server that only speaks Part 1 of the protocol answered 404. */
export type HeartbeatOutcome = { kind: 'ok' } | { kind: 'cancelled' } | { kind: 'unsupported' };

export interface RunnerApiOptions {
  serverUrl: string;
  token: string;
  userAgent: string;
  /** How long a long-poll may take, answer included; above the server's 30 s hold. */
  longPollTimeoutMs?: number;
  /** How long any other request may take, answer included. */
  requestTimeoutMs?: number;
  /**
   * Told once when an events batch or completion got no answer and the server did not answer a probe either: the path
   * is down (requests wait for it, probing). Not told again until {@link onPathBack}.
   */
  onPathDown?: () => void;
  /** Told when a probe is answered again after {@link onPathDown}, with how long the path was seen down. */
  onPathBack?: (downMs: number) => void;
  /** The liveness timings ({@link LIVENESS}); tests shorten them. */
  liveness?: Partial<Record<keyof typeof LIVENESS, number>>;
}

/**
 * Liveness of the events and completion POSTs (see {@link LivenessState}). A request whose path silently drops (no
 * RST: Wi-Fi gone, a NAT that forgot the flow, a cable pulled somewhere) never fails: with one deadline of 30 s, the
 * batch in flight when the path dropped was retried only then, about 20 s after the path had come back in a 10 s cut.
 */
export const LIVENESS = {
  /** The first deadline of a POST: enough for a small batch to reach a healthy server many times over… */
  firstDeadlineMs: 3_000,
  /** …plus this much per MiB of body, for the upload (a 3 MiB batch gets 6 s). */
  perMiBMs: 1_000,
  /** How often the path is probed while it is down; each probe goes on a connection of its own. */
  probeEveryMs: 1_000,
  /** How long a probe may take before it counts as unanswered. */
  probeTimeoutMs: 2_000,
  /**
   * How long an attempt waits for the path before it fails to the pipeline (which logs, backs off and tries again): a
   * server that never answers a probe (say a gateway that hangs HEAD requests) costs a batch this much, not for ever.
   */
  maxWaitForPathMs: 5 * 60_000,
} as const;

/**
 * The four runner endpoints of the protocol (plus the Part 2 heartbeat), each as a cold Observable that
 * sends one request per subscription, aborts it on unsubscribe, and maps the answer to a typed outcome.
 * ky never retries here: retries belong to the pipeline (`retryBackoff`), where they are visible and testable.
 * Every answer is read with a size limit, redirects are refused, and a body the runner uses is checked against
 * the protocol's schema before anything else sees it.
 */
export interface RunnerApi {
  nextJob(): Observable<NextJobOutcome>;
  claim(jobId: string): Observable<ClaimOutcome>;
  /** `batch` is the events, or the request body already serialized (as the spool keeps it). */
  appendEvents(jobId: string, batch: readonly RunnerEvent[] | string): Observable<AppendOutcome>;
  complete(jobId: string, body: CompletionBody): Observable<CompleteOutcome>;
  heartbeat(jobId: string): Observable<HeartbeatOutcome>;
  /**
   * How many 2xx answers this client has had, on any route: evidence that the server is up, which tells a batch that
   * keeps getting 502 while heartbeats go through (the server fails on what it holds) from an outage (where everything
   * gets 502). Optional: without it, every 502 counts as an outage.
   */
  successfulAnswers?(): number;
}

/** A 2xx answer's body as read: `complete` is false when it ran past the route's limit and was cut there. */
interface Answer {
  text: string;
  complete: boolean;
  requestId: string | undefined;
}

/** Per status: a fixed outcome (the body is not needed), or how to read one from the body. */
type StatusMap<T> = Partial<Record<number, T | ((answer: Answer) => T)>>;

interface RequestOptions {
  /** A POST's JSON body, already serialized: sent as it is (see `postJson`). */
  jsonBody?: string;
  timeoutMs?: number;
  limitBytes?: number;
  /** Detect a dead path quickly (idempotent requests only: the exchange may be sent again, the same bytes). */
  liveness?: LivenessState;
}

/**
 * One request's deadline across its attempts (the pipeline retries by subscribing again to the same Observable, so the
 * state lives as long as the request). Why a short deadline with a probe rather than just a shorter timeout: a short
 * timeout alone cannot tell a dead path from a slow server (a 3 MiB batch that PostgreSQL takes 5 s to store), and
 * would retry that batch for ever; a timeout that only grows would be back at 30 s after a long outage. So:
 *
 * - an exchange that has no answer by half its deadline probes the server: a HEAD of the long-poll's address without the
 *   token, on a connection of its own (any answer, the 401 included, proves the path and the server are there);
 * - at the deadline, if the probe was answered, the server is slow (or this exchange's connection died in an earlier
 *   cut): the attempt fails, and the next attempt (a fresh connection, the same bytes) gets twice the deadline, up to
 *   the request timeout; a slow server is served after a few attempts, none of them duplicating anything;
 * - if the probe was not answered either, the path is down: the exchange is dropped and the attempt waits for the path,
 *   probing every {@link LIVENESS.probeEveryMs}, then sends the same bytes again at once. The pipeline's retry count
 *   does not grow while the path is down, so its backoff (up to 30 s) never delays the first batch after the path
 *   comes back: that batch leaves about a probe interval after the path does.
 *
 * A retried exchange never duplicates: it is the same bytes, and the server keeps one event per eventId (the reference
 * control plane inserts ON CONFLICT (job_id, event_id) DO NOTHING, under the job row's lock).
 */
interface LivenessState {
  deadlineMs: number;
}

export function createRunnerApi(options: RunnerApiOptions): RunnerApi {
  const apiBase = ensureTrailingSlash(new URL(RUNNER_API_PREFIX.slice(1), ensureTrailingSlash(options.serverUrl)).toString());
  const headers = { authorization: `Bearer ${options.token}`, 'user-agent': options.userAgent };
  const client: KyInstance = ky.create({
    prefixUrl: apiBase,
    headers,
    retry: 0,
    throwHttpErrors: false,
    // Node's fetch then hands back the 3xx itself, Location included, instead of following it.
    redirect: 'manual',
    // The deadline below covers the body too, which ky's timeout does not.
    timeout: false,
  });
  /**
   * The POSTs of a serialized body (an events batch, a completion) go to fetch itself, with ky's headers and redirect
   * rule: ky clones and tees every request body so that it could retry it, which cost 0.5 ms of CPU per 80 kB batch
   * (1.1 ms a request through ky, 0.6 ms through fetch, measured side by side), and retrying is the pipeline's job.
   */
  const jsonHeaders = { ...headers, 'content-type': 'application/json' };
  const postJson = (route: string, body: string, signal: AbortSignal) =>
    fetch(`${apiBase}${route}`, { method: 'POST', body, headers: jsonHeaders, signal, redirect: 'manual' });
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  let successfulAnswers = 0;
  const longPollTimeout = options.longPollTimeoutMs ?? 60_000;
  /**
   * What a probe asks for: the long-poll's address without the token, which the control plane refuses (401) before any
   * database work, at once. Any answer proves that the path and the runner API's front are there; the runner stays
   * within the protocol's routes (the hostile suite holds it to that), and sends no secret with a probe.
   */
  const probeUrl = new URL(`${RUNNER_API_PREFIX.slice(1)}/jobs/next`, ensureTrailingSlash(options.serverUrl));
  /** Since when the path is seen down, shared by every waiting request so that an outage is reported once. */
  let pathDownSince: number | undefined;
  const timing = { ...LIVENESS, ...options.liveness };
  /** A POST of `body` under the liveness rules, starting from the first deadline of a body that size. */
  const livelyPost = (body: string): RequestOptions => ({
    jsonBody: body,
    liveness: {
      deadlineMs: Math.min(requestTimeout, timing.firstDeadlineMs + (timing.perMiBMs * Buffer.byteLength(body)) / (1024 * 1024)),
    },
  });

  function request<T>(method: 'get' | 'post', route: string, outcomes: StatusMap<T>, init: RequestOptions = {}): Observable<T> {
    const { timeoutMs = requestTimeout, limitBytes = ANSWER_LIMITS.other, liveness, ...sent } = init;
    const name = `${method.toUpperCase()} ${route}`;
    if (liveness) return livelyRequest(name, liveness, (signal) => exchange(route, method, sent, signal, name, outcomes, limitBytes));
    return new Observable<T>((subscriber) => {
      const abort = new AbortController();
      let settled = false;
      let timedOut = false;
      const deadline = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, timeoutMs);
      exchange(route, method, sent, abort.signal, name, outcomes, limitBytes)
        .catch((error: unknown) => {
          throw timedOut ? new AnswerTimeoutError(name, timeoutMs) : error;
        })
        .then(
          (value) => {
            settled = true;
            subscriber.next(value);
            subscriber.complete();
          },
          (error: unknown) => {
            settled = true;
            if (!abort.signal.aborted || timedOut) subscriber.error(error);
          },
        )
        .finally(() => clearTimeout(deadline));
      // Aborting a finished request would only cost an exception object per batch.
      return () => {
        clearTimeout(deadline);
        if (!settled) abort.abort();
      };
    });
  }

  async function exchange<T>(
    route: string,
    method: string,
    sent: Omit<RequestOptions, 'timeoutMs' | 'limitBytes' | 'liveness'>,
    signal: AbortSignal,
    name: string,
    outcomes: StatusMap<T>,
    limitBytes: number,
  ): Promise<T> {
    const response = sent.jsonBody === undefined ? await client(route, { method, signal }) : await postJson(route, sent.jsonBody, signal);
    const requestId = requestIdOf(response.headers.get('x-request-id'));
    if (response.status >= 300 && response.status < 400) {
      await readLimited(response, ANSWER_LIMITS.other);
      throw new RedirectRefusedError(name, response.status, response.headers.get('location') ?? undefined, requestId);
    }
    if (response.status >= 200 && response.status < 300) successfulAnswers++;
    const outcome = outcomes[response.status];
    // Read every body, even the ones we ignore: an unread body keeps the connection busy.
    const { text, complete } = await readLimited(response, typeof outcome === 'function' ? limitBytes : ANSWER_LIMITS.other);
    if (outcome === undefined) throw toApiError(response.status, name, text, requestId);
    return typeof outcome === 'function' ? (outcome as (answer: Answer) => T)({ text, complete, requestId }) : outcome;
  }

  /** A request under {@link LivenessState}'s rules: one subscription is one attempt, which may send the bytes more than once. */
  function livelyRequest<T>(name: string, state: LivenessState, send: (signal: AbortSignal) => Promise<T>): Observable<T> {
    return new Observable<T>((subscriber) => {
      const stopped = new AbortController();
      attempt().then(
        (value) => {
          subscriber.next(value);
          subscriber.complete();
        },
        (error: unknown) => {
          if (!stopped.signal.aborted) subscriber.error(error);
        },
      );
      return () => stopped.abort();

      async function attempt(): Promise<T> {
        const waitedSince = Date.now();
        for (;;) {
          const deadlineMs = state.deadlineMs;
          const answer = await exchangeWithin(deadlineMs).catch(unlessPathDown);
          if (answer.kind === 'answered') return answer.value;
          if (answer.reachable) {
            state.deadlineMs = Math.min(deadlineMs * 2, Math.max(requestTimeout, deadlineMs));
            throw new AnswerTimeoutError(name, deadlineMs);
          }
          if (pathDownSince === undefined) {
            pathDownSince = Date.now();
            options.onPathDown?.();
          }
          const back = await waitForPath(timing.maxWaitForPathMs - (Date.now() - waitedSince));
          if (stopped.signal.aborted) throw stopped.signal.reason;
          if (!back) throw new AnswerTimeoutError(name, Date.now() - waitedSince);
          if (pathDownSince !== undefined) {
            options.onPathBack?.(Date.now() - pathDownSince);
            pathDownSince = undefined;
          }
        }
      }

      /**
       * A connection refused or cut (fetch's `TypeError`) is an outage like a silence when the server does not answer a
       * probe either: the path is waited for, and the same bytes go as soon as it is back, instead of after a backoff
       * that grew all through the outage. Answered, the server is there and this request failed on its own: the
       * pipeline retries it with backoff.
       */
      async function unlessPathDown(error: unknown): Promise<{ kind: 'silent'; reachable: false }> {
        if (!(error instanceof TypeError) || (await probe(probeUrl, timing.probeTimeoutMs, stopped.signal))) throw error;
        return { kind: 'silent', reachable: false };
      }

      /** One exchange, dropped at `deadlineMs` without an answer; by then a probe (sent at half of it) says whether the server is there. */
      function exchangeWithin(deadlineMs: number): Promise<{ kind: 'answered'; value: T } | { kind: 'silent'; reachable: boolean }> {
        const abort = new AbortController();
        let probeAbort: AbortController | undefined;
        const onStop = () => {
          abort.abort();
          probeAbort?.abort();
        };
        stopped.signal.addEventListener('abort', onStop);
        let reachable: Promise<boolean> = Promise.resolve(false);
        const probing = setTimeout(() => {
          probeAbort = new AbortController();
          reachable = probe(probeUrl, deadlineMs - deadlineMs / 2, probeAbort.signal);
        }, deadlineMs / 2);
        return new Promise<{ kind: 'answered'; value: T } | { kind: 'silent'; reachable: boolean }>((resolve, reject) => {
          const deadline = setTimeout(() => {
            // The probe's own timeout ends with the deadline; abort only after it has had its say.
            void reachable.then((up) => {
              abort.abort();
              resolve({ kind: 'silent', reachable: up });
            });
          }, deadlineMs);
          send(abort.signal).then(
            (value) => {
              clearTimeout(deadline);
              resolve({ kind: 'answered', value });
            },
            (error: unknown) => {
              clearTimeout(deadline);
              reject(error);
            },
          );
        }).finally(() => {
          // The exchange is aborted only when it went silent (above): aborting one that has finished would cost an
          // exception object per batch. A probe still out is not needed any more.
          clearTimeout(probing);
          probeAbort?.abort();
          stopped.signal.removeEventListener('abort', onStop);
        });
      }

      /** Probes every {@link LIVENESS.probeEveryMs} (each on its own connection) until one is answered; false after `maxMs`. */
      async function waitForPath(maxMs: number): Promise<boolean> {
        const until = Date.now() + maxMs;
        const probes = new AbortController();
        const onStop = () => probes.abort();
        stopped.signal.addEventListener('abort', onStop);
        try {
          return await new Promise<boolean>((resolve) => {
            const tick = () => {
              if (stopped.signal.aborted || Date.now() >= until) return resolve(false);
              void probe(probeUrl, timing.probeTimeoutMs, probes.signal).then((up) => up && resolve(true));
              timer = setTimeout(tick, timing.probeEveryMs);
            };
            let timer = setTimeout(tick, 0);
            probes.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve(false);
            });
          });
        } finally {
          probes.abort();
          stopped.signal.removeEventListener('abort', onStop);
        }
      }
    });
  }

  /** Refused before anything is sent: an unsafe id would change the URL's path (`..`) or not encode at all (a lone surrogate). */
  function jobRequest<T>(jobId: string, action: string, outcomes: StatusMap<T>, init?: RequestOptions): Observable<T> {
    const problem = jobIdProblem(jobId);
    if (problem)
      return new Observable<T>((subscriber) => subscriber.error(new Error(`refusing to send ${action} for this job: ${problem}`)));
    return request('post', `jobs/${jobId}/${action}`, outcomes, init);
  }

  return {
    successfulAnswers: () => successfulAnswers,
    nextJob: () =>
      request<NextJobOutcome>(
        'get',
        'jobs/next',
        {
          200: (answer) => {
            const checked = readJson(answer, 'GET jobs/next', ANSWER_LIMITS.other, (value) => check(JobDescriptorSchema, value));
            if (!checked.ok) throw new MalformedAnswerError('GET jobs/next', requestIdIn(answer), checked.problems);
            return { kind: 'job', job: checked.value };
          },
          204: { kind: 'empty' },
        },
        { timeoutMs: longPollTimeout },
      ),
    claim: (jobId) =>
      jobRequest<ClaimOutcome>(
        jobId,
        'claim',
        {
          200: (answer) => {
            const checked = readJson(answer, `POST jobs/${jobId}/claim`, ANSWER_LIMITS.claim, (value) => checkJobPayload(value, jobId));
            return checked.ok
              ? { kind: 'claimed', payload: checked.value }
              : { kind: 'malformed', problems: checked.problems, requestId: requestIdIn(answer) };
          },
          409: { kind: 'lost' },
          404: { kind: 'gone' },
        },
        { limitBytes: ANSWER_LIMITS.claim },
      ),
    appendEvents: (jobId, batch) =>
      jobRequest<AppendOutcome>(
        jobId,
        'events',
        { 200: { kind: 'ok' }, 204: { kind: 'ok' }, 409: { kind: 'terminal' }, 403: { kind: 'gone' }, 404: { kind: 'gone' } },
        livelyPost(typeof batch === 'string' ? batch : JSON.stringify({ events: batch })),
      ),
    complete: (jobId, body) =>
      jobRequest<CompleteOutcome>(
        jobId,
        'complete',
        { 200: { kind: 'ok' }, 204: { kind: 'ok' }, 409: { kind: 'already_terminal' }, 403: { kind: 'gone' }, 404: { kind: 'gone' } },
        // A completion sent again is answered 409 (already terminal), which ends it as well: it may be sent twice.
        livelyPost(JSON.stringify(body)),
      ),
    // The status is the whole answer: whatever body comes with it is not read past the usual limit, nor used.
    heartbeat: (jobId) =>
      jobRequest<HeartbeatOutcome>(jobId, 'heartbeat', {
        200: { kind: 'ok' },
        204: { kind: 'ok' },
        409: { kind: 'cancelled' },
        404: { kind: 'unsupported' },
        405: { kind: 'unsupported' },
      }),
  };
}

/**
 * Whether the server answers at all, now: a HEAD of `url` on a connection of its own (`agent: false`: not one of
 * the pooled connections, which may be the dead ones), without the token. Any status counts; an error or silence past
 * `timeoutMs` does not.
 */
function probe(url: URL, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'HEAD', agent: false, signal }, (response) => {
      response.resume();
      done(true);
    });
    const timer = setTimeout(() => done(false), timeoutMs);
    req.on('error', () => done(false));
    req.end();
    function done(up: boolean) {
      clearTimeout(timer);
      req.destroy();
      resolve(up);
    }
  });
}

/**
 * Reads at most `limitBytes` of the body, then stops reading (cancelling the rest of the stream), so that an answer of
 * any size costs at most that much memory. UTF-8 is decoded once, at the end, so characters split across chunks survive.
 */
async function readLimited(response: Response, limitBytes: number): Promise<{ text: string; complete: boolean }> {
  if (!response.body) return { text: '', complete: true };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: Buffer.concat(chunks, size).toString('utf8'), complete: true };
    const room = limitBytes - size;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      await reader.cancel().catch(() => undefined);
      return { text: Buffer.concat(chunks, limitBytes).toString('utf8'), complete: false };
    }
    chunks.push(value);
    size += value.byteLength;
  }
}

/** A 2xx body as JSON, checked by `checker`. */
function readJson<T>(answer: Answer, route: string, limitBytes: number, checker: (value: unknown) => Checked<T>): Checked<T> {
  if (!answer.complete)
    return { ok: false, problems: [`the answer is over ${formatBytes(limitBytes)}, the most the runner reads from ${route}`] };
  const value = parseJsonOrUndefined(answer.text);
  if (value === undefined) return { ok: false, problems: [`the answer is not JSON (it starts ${describeValue(answer.text, 80)})`] };
  return checker(value);
}

/** The request id of an answer: the x-request-id header, else a `requestId` in its body. */
function requestIdIn(answer: Answer): string | undefined {
  if (answer.requestId !== undefined || !answer.complete) return answer.requestId;
  return readErrorBody(parseJsonOrUndefined(answer.text)).requestId;
}

function toApiError(status: number, route: string, text: string, headerRequestId: string | undefined): ApiError {
  const body = readErrorBody(parseJsonOrUndefined(text));
  const requestId = headerRequestId ?? body.requestId;
  if (status === 401) return new TokenRejectedError(route, body.error, requestId, text, body.expiredAt);
  return new ApiError(status, route, body.error, requestId, text);
}

/** The x-request-id header when it is one (printable, short); anything else is not worth a log line. */
function requestIdOf(header: string | null): string | undefined {
  return header !== null && is(RequestIdSchema, header) ? header : undefined;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

function ensureTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
