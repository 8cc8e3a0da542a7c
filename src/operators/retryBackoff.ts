import { asyncScheduler, retry, throwError, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { isTransientError } from './isTransientError.js';

/** What {@link RetryBackoffOptions.onRetry} learns before each retry. */
export interface RetryInfo {
  /** The error that made the last attempt fail. */
  error: unknown;
  /** The number of this retry: 1 for the first retry (the second attempt), 2 for the next, … */
  attempt: number;
  /** How long the retry waits before resubscribing, in ms. */
  delayMs: number;
}

/** Options of {@link retryBackoff}. */
export interface RetryBackoffOptions {
  /** The ceiling of the first retry's delay, in ms (default 500); it doubles with each retry. */
  initialDelayMs?: number;
  /** The highest ceiling any delay can reach, in ms (default 30 000). */
  maxDelayMs?: number;
  /** Attempts in total, the first one included (default `Infinity`); `1` means never retry. */
  maxAttempts?: number;
  /** Which errors are worth another attempt (default {@link isTransientError}). */
  shouldRetry?: (error: unknown) => boolean;
  /**
   * The delay an error asks for, in ms (a server's `Retry-After`), taken as it is instead of the backoff's;
   * `undefined` for the backoff's own. Bound it yourself: it is neither capped nor jittered.
   */
  delayFor?: (error: unknown) => number | undefined;
  /** Called before each retry, for logging and metrics. */
  onRetry?: (info: RetryInfo) => void;
  /** Start counting retries from 1 again after the source emits a value (default `true`). */
  resetOnSuccess?: boolean;
  /** The source of jitter (default `Math.random`); a constant in tests. */
  random?: () => number;
  /** Where the delays are scheduled (default `asyncScheduler`); a `TestScheduler` in tests. */
  scheduler?: SchedulerLike;
}

/**
 * Resubscribes to the source after an error, waiting longer each time: exponential backoff with
 * full jitter, so that many runners failing together do not come back together.
 *
 * Retry n (n = 1, 2, …) waits `Math.floor(random() * Math.min(maxDelayMs, initialDelayMs * 2 ** (n - 1)))` ms,
 * or what `delayFor` asks for that error.
 * An error for which `shouldRetry` returns `false`, and the error of the last of `maxAttempts`
 * attempts, are forwarded unchanged. With `resetOnSuccess`, a value from the source proves the
 * connection works again, so the next failure starts from the smallest delay; a source that
 * completes without a value does not reset the count (resubscribe the whole operator for that).
 * The retry count lives in each subscription.
 *
 * @example
 * defer(() => postEvents(batch)).pipe(retryBackoff({ maxAttempts: 8, onRetry: logRetry }))
 */
export function retryBackoff<T>(options: RetryBackoffOptions = {}): MonoTypeOperatorFunction<T> {
  const {
    initialDelayMs = 500,
    maxDelayMs = 30_000,
    maxAttempts = Infinity,
    shouldRetry = isTransientError,
    delayFor,
    onRetry,
    resetOnSuccess = true,
    random = Math.random,
    scheduler = asyncScheduler,
  } = options;
  return retry<T>({
    count: maxAttempts - 1,
    resetOnSuccess,
    delay: (error: unknown, attempt: number) => {
      if (!shouldRetry(error)) return throwError(() => error);
      const delayMs = delayFor?.(error) ?? Math.floor(random() * Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1)));
      onRetry?.({ error, attempt, delayMs });
      return timer(delayMs, scheduler);
    },
  });
}
