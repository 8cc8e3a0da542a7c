import { asyncScheduler, concatMap, defer, filter, of, repeat, timer, type Observable, type SchedulerLike } from 'rxjs';
import { retryBackoff, type RetryBackoffOptions } from './retryBackoff.js';

/** Options of {@link poll}. */
export interface PollOptions<T, E extends T = never> {
  /**
   * Recognises an answer that carries nothing (a 204, `null`): it is swallowed and the next poll starts. A type guard
   * (`(answer) => answer === null`) narrows what the poll emits to the other answers.
   */
  isEmpty: ((value: T) => value is E) | ((value: T) => boolean);
  /**
   * The least time between the starts of two requests, in ms (default 0: no guard). Protects the
   * server and the runner from a hot loop when a broken server answers "empty" or fails at once.
   */
  minIntervalMs?: number;
  /** How failed requests are retried; see {@link retryBackoff}. */
  backoff?: Omit<RetryBackoffOptions, 'scheduler' | 'random'>;
  /** The source of backoff jitter (default `Math.random`). */
  random?: () => number;
  /** Where time comes from (default `asyncScheduler`); a `TestScheduler` in tests. */
  scheduler?: SchedulerLike;
}

/**
 * Repeats a long-poll request until unsubscribed, emitting every answer that is not empty.
 *
 * - Requests run one at a time: the next is subscribed when the previous completes, at once if it
 *   was empty, but never sooner than `minIntervalMs` after the previous request started.
 * - A failed request is retried with {@link retryBackoff} per `backoff` (transient errors, per
 *   {@link isTransientError} by default). Every completed request resets the backoff, so a
 *   recovered server is polled at full speed, and `backoff.maxAttempts` counts consecutive failures.
 * - An error that is not retried (a 401, say), or the last allowed attempt's error, ends the stream.
 *
 * Each subscription polls on its own; unsubscribing cancels the request in flight. The stream
 * never completes, so `request` must be asynchronous (or `minIntervalMs` set): a synchronous
 * empty answer would loop forever without yielding.
 *
 * @example
 * poll(() => http.get$('/jobs/next'), { isEmpty: (job) => job === null, minIntervalMs: 1_000 })
 */
export function poll<T, E extends T = never>(request: () => Observable<T>, options: PollOptions<T, E>): Observable<Exclude<T, E>> {
  const { isEmpty, minIntervalMs = 0, backoff, random, scheduler = asyncScheduler } = options;
  return defer(() => {
    let lastStart = -Infinity;
    const guardedRequest$ = defer(() => {
      const wait = lastStart + minIntervalMs - scheduler.now();
      return (wait > 0 ? timer(wait, scheduler) : of(0)).pipe(
        concatMap(() => {
          lastStart = scheduler.now();
          return request();
        }),
      );
    });
    // retryBackoff sits inside repeat: each repetition is a fresh subscription to it, which is what
    // resets the backoff after every completed request.
    return guardedRequest$.pipe(
      retryBackoff<T>({ ...backoff, random, scheduler }),
      repeat(),
      filter((value): value is Exclude<T, E> => !isEmpty(value)),
    );
  });
}
