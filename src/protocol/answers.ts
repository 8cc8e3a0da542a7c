/**
 * What a server's answer means to a runner: one word per meaning, the same on every route (PROTOCOL.md, the answers of
 * each route, "Errors", and Part 2's rule for its routes).
 */
export type AnswerMeaning =
  /** 2xx. */
  | 'accepted'
  /** 409: the job is over on the server (to a claim: another runner has it). */
  | 'job_ended'
  /** 403 or 404 job_not_found: the job is not this runner's any more, or never was. */
  | 'job_gone'
  /** A Part-2 route the server does not have (a 404 without job_not_found, 405, 501): stop calling it for that job. */
  | 'route_missing'
  /** 401 runner_token_expired: the token must be rotated. */
  | 'token_expired'
  /** Any other 401: the token is revoked, mistyped or for another server. */
  | 'token_rejected'
  /** 429: wait as long as the server asks (`Retry-After`), then try again. */
  | 'busy'
  /** 5xx, 408, 425, or no answer at all: try again later. */
  | 'retry_later'
  /** 3xx: never followed (it would send the token and the agent's output elsewhere). */
  | 'redirected'
  /** Any other 4xx: the request itself is wrong, and sending it again gets the same answer. */
  | 'refused';

/** Whether a route is one of Part 2's extensions, which a server may lack. */
export interface AnsweredRoute {
  extension: boolean;
}

/**
 * The meaning of an answer with `status` (undefined: none came) and error `code`, on `route`. On a Part-2 route a job
 * is gone only when the server says so by its code: any other 404 (a server without the route, a gateway) means the
 * route is missing. 403 is job_not_owned_by_token, the protocol's only 403; on Part 1 routes it is taken as such
 * whatever its body, as the protocol's Part 1 answers are.
 */
export function meaningOf(status: number | undefined, code: string | undefined, route: AnsweredRoute): AnswerMeaning {
  if (status === undefined) return 'retry_later';
  if (status >= 200 && status < 300) return 'accepted';
  if (status >= 300 && status < 400) return 'redirected';
  if (status === 401) return code === 'runner_token_expired' ? 'token_expired' : 'token_rejected';
  if (status === 409) return 'job_ended';
  if (status === 429) return 'busy';
  if (route.extension) {
    if (status === 404) return code === 'job_not_found' ? 'job_gone' : 'route_missing';
    if (status === 403) return code === 'job_not_owned_by_token' ? 'job_gone' : 'refused';
    if (status === 405 || status === 501) return 'route_missing';
  } else if (status === 403 || status === 404) return 'job_gone';
  if (status === 408 || status === 425 || status >= 500) return 'retry_later';
  return 'refused';
}

/** The longest wait a `Retry-After` is honoured for: a long-poll's hold, so that no server keeps a runner quiet for longer. */
export const MAX_RETRY_AFTER_MS = 30_000;

/** The three forms of an HTTP date (RFC 9110) all start with the day's name; Date.parse alone takes almost anything. */
const HTTP_DATE_START = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /;

/**
 * How long a `Retry-After` header asks to wait, in ms from `nowMs`: delay-seconds or an HTTP date, at most
 * {@link MAX_RETRY_AFTER_MS}; a date in the past asks for no wait. Undefined when there is no header or it is neither.
 */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  const value = header?.trim() ?? '';
  let ms = Number.NaN;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  // asctime's form names no zone; every HTTP date is GMT.
  else if (HTTP_DATE_START.test(value)) ms = Date.parse(value.endsWith('GMT') ? value : `${value} GMT`) - nowMs;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
