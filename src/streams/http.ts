import ky, { type KyInstance } from 'ky';
import { Observable } from 'rxjs';
import {
  RUNNER_API_PREFIX,
  type CompletionBody,
  type ErrorBody,
  type JobDescriptor,
  type RunnerEvent,
} from '../protocol/types.js';

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
        `${requestId ? ` (requestId ${requestId})` : ''}${body && !code ? `: ${body.slice(0, 300)}` : ''}`,
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

export type NextJobOutcome = { kind: 'job'; job: JobDescriptor } | { kind: 'empty' };
export type ClaimOutcome = { kind: 'claimed'; payload: unknown } | { kind: 'lost' } | { kind: 'gone' };
/** `terminal`: the job ended on the server (409); `gone`: it is not this runner's any more (403/404). */
export type AppendOutcome = { kind: 'ok' } | { kind: 'terminal' } | { kind: 'gone' };
export type CompleteOutcome = { kind: 'ok' } | { kind: 'already_terminal' } | { kind: 'gone' };
/** `unsupported`: a server that only speaks Part 1 of the protocol answered 404. */
export type HeartbeatOutcome = { kind: 'ok' } | { kind: 'cancelled' } | { kind: 'unsupported' };

export interface RunnerApiOptions {
  serverUrl: string;
  token: string;
  userAgent: string;
  /** How long a long-poll may stay open; above the server's 30 s hold. */
  longPollTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * The four runner endpoints of the protocol (plus the Part 2 heartbeat), each as a cold Observable that
 * sends one request per subscription, aborts it on unsubscribe, and maps the answer to a typed outcome.
 * ky never retries here: retries belong to the pipeline (`retryBackoff`), where they are visible and testable.
 */
export interface RunnerApi {
  nextJob(): Observable<NextJobOutcome>;
  claim(jobId: string): Observable<ClaimOutcome>;
  /** `batch` is the events, or the request body already serialized (as the spool keeps it). */
  appendEvents(jobId: string, batch: readonly RunnerEvent[] | string): Observable<AppendOutcome>;
  complete(jobId: string, body: CompletionBody): Observable<CompleteOutcome>;
  heartbeat(jobId: string): Observable<HeartbeatOutcome>;
}

type StatusMap<T> = Partial<Record<number, T | ((body: string) => T)>>;

export function createRunnerApi(options: RunnerApiOptions): RunnerApi {
  const client: KyInstance = ky.create({
    prefixUrl: new URL(RUNNER_API_PREFIX.slice(1), ensureTrailingSlash(options.serverUrl)).toString(),
    headers: { authorization: `Bearer ${options.token}`, 'user-agent': options.userAgent },
    retry: 0,
    throwHttpErrors: false,
    timeout: options.requestTimeoutMs ?? 30_000,
  });
  const longPollTimeout = options.longPollTimeoutMs ?? 60_000;

  function request<T>(
    method: 'get' | 'post',
    route: string,
    outcomes: StatusMap<T>,
    init: { json?: unknown; body?: string; headers?: Record<string, string>; timeout?: number } = {},
  ): Observable<T> {
    return new Observable<T>((subscriber) => {
      const abort = new AbortController();
      let settled = false;
      client(route, { method, signal: abort.signal, ...init })
        .then(async (response) => {
          // Read every body, even the ones we ignore: an unread body keeps the connection busy.
          const body = await response.text();
          const outcome = outcomes[response.status];
          if (outcome !== undefined) {
            return typeof outcome === 'function' ? (outcome as (b: string) => T)(body) : outcome;
          }
          throw toApiError(response, route, body);
        })
        .then(
          (value) => {
            settled = true;
            subscriber.next(value);
            subscriber.complete();
          },
          (error: unknown) => {
            settled = true;
            if (!abort.signal.aborted) subscriber.error(error);
          },
        );
      // Aborting a finished request would only cost an exception object per batch.
      return () => settled || abort.abort();
    });
  }

  const jobRoute = (jobId: string, action: string) => `jobs/${encodeURIComponent(jobId)}/${action}`;

  return {
    nextJob: () =>
      request<NextJobOutcome>(
        'get',
        'jobs/next',
        { 200: (body) => ({ kind: 'job', job: JSON.parse(body) as JobDescriptor }), 204: { kind: 'empty' } },
        { timeout: longPollTimeout },
      ),
    claim: (jobId) =>
      request<ClaimOutcome>('post', jobRoute(jobId, 'claim'), {
        200: (body) => ({ kind: 'claimed', payload: parseJsonOrText(body) }),
        409: { kind: 'lost' },
        404: { kind: 'gone' },
      }),
    appendEvents: (jobId, batch) =>
      request<AppendOutcome>(
        'post',
        jobRoute(jobId, 'events'),
        { 200: { kind: 'ok' }, 204: { kind: 'ok' }, 409: { kind: 'terminal' }, 403: { kind: 'gone' }, 404: { kind: 'gone' } },
        typeof batch === 'string' ? { body: batch, headers: { 'content-type': 'application/json' } } : { json: { events: batch } },
      ),
    complete: (jobId, body) =>
      request<CompleteOutcome>(
        'post',
        jobRoute(jobId, 'complete'),
        { 200: { kind: 'ok' }, 204: { kind: 'ok' }, 409: { kind: 'already_terminal' }, 403: { kind: 'gone' }, 404: { kind: 'gone' } },
        { json: body },
      ),
    heartbeat: (jobId) =>
      request<HeartbeatOutcome>('post', jobRoute(jobId, 'heartbeat'), {
        200: { kind: 'ok' },
        204: { kind: 'ok' },
        409: { kind: 'cancelled' },
        404: { kind: 'unsupported' },
        405: { kind: 'unsupported' },
      }),
  };
}

function toApiError(response: Response, route: string, body: string): ApiError {
  const parsed = parseJsonOrText(body);
  const errorBody: Partial<ErrorBody> = typeof parsed === 'object' && parsed !== null ? (parsed as ErrorBody) : {};
  const code = typeof errorBody.error === 'string' ? errorBody.error : undefined;
  const requestId = response.headers.get('x-request-id') ?? errorBody.requestId;
  if (response.status === 401) return new TokenRejectedError(route, code, requestId, body, errorBody.expiredAt);
  return new ApiError(response.status, route, code, requestId, body);
}

function parseJsonOrText(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function ensureTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
