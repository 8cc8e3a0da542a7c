import { meaningOf, type AnswerMeaning, type AnsweredRoute } from '../../protocol/answers.js';
import { describeValue } from '../../protocol/values.js';

/** How much of an error answer is shown in a message. */
const ERROR_BODY_SNIPPET_CHARS = 300;

/** What an answer says beside its status: whether the route is a Part-2 extension, how long it asks to wait. */
export interface AnswerContext extends Partial<AnsweredRoute> {
  /** From a 429's `Retry-After`, bounded (see retryAfterMs). */
  retryAfterMs?: number;
}

/** An answer the route does not turn into an outcome; `status` and `meaning` let a retry policy judge it. */
export class ApiError extends Error {
  override readonly name: string = 'ApiError';
  readonly meaning: AnswerMeaning;
  readonly retryAfterMs: number | undefined;
  constructor(
    readonly status: number,
    readonly route: string,
    readonly code: string | undefined,
    readonly requestId: string | undefined,
    readonly body: string,
    context: AnswerContext = {},
  ) {
    const wait = context.retryAfterMs === undefined ? '' : `; it asks to wait ${context.retryAfterMs / 1000} s (Retry-After)`;
    super(
      `server answered ${status}${code ? ` ${code}` : ''} to ${route}` +
        `${requestId ? ` (requestId ${requestId})` : ''}${body && !code ? `: ${describeValue(body, ERROR_BODY_SNIPPET_CHARS)}` : ''}${wait}`,
    );
    this.meaning = meaningOf(status, code, { extension: context.extension ?? false });
    this.retryAfterMs = context.retryAfterMs;
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
    return this.meaning === 'token_expired';
  }
}

/**
 * A 3xx, never followed: it would send the token and the agent's output wherever the server points, and the
 * "https, or http only to this machine" rule is checked on --server-url alone. It has no `status`, so the pipeline
 * retries it with backoff, saying what to fix at every try.
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
 * A 2xx whose body is not what the protocol says (not JSON, the wrong shape, an unsafe job id, too big). It has no
 * `status`, so a long-poll answered with garbage is retried with backoff, never hammered.
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

/** No complete answer (headers and body) within the route's time; named like fetch's own timeout, which callers recognise. */
export class AnswerTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(route: string, timeoutMs: number) {
    super(`no complete answer to ${route} within ${timeoutMs / 1000} s`);
  }
}

/** How long the server asked to wait before the request is sent again (a 429's `Retry-After`), if it asked. */
export function retryAfterOf(error: unknown): number | undefined {
  return error instanceof ApiError ? error.retryAfterMs : undefined;
}
