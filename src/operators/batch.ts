import { asyncScheduler, bufferTime, filter, pipe, type OperatorFunction, type SchedulerLike } from 'rxjs';

/** Options of {@link batch}. */
export interface BatchOptions {
  /** How long the first value of a batch may wait for company, in ms (default 50). */
  windowMs?: number;
  /** The most values in one batch (default 32); a full batch leaves at once. */
  max?: number;
  /** Where time comes from (default `asyncScheduler`); a `TestScheduler` in tests. */
  scheduler?: SchedulerLike;
}

/**
 * Groups values into arrays so that many small events cost one request, while no event waits
 * long: a batch leaves at most `windowMs` after its first value, and as soon as `max` values wait
 * (which also starts a new window).
 *
 * Unlike a bare `bufferTime(windowMs, null, max)`, it never emits an empty array, so an idle
 * stream sends nothing. The last partial batch is emitted when the source completes, so end the
 * source (for example when the child process closes) to flush it; unsubscribing drops it. Errors
 * are forwarded and drop the partial batch.
 *
 * @example
 * lines$.pipe(batch({ windowMs: 50, max: 32 }), concatMap(postEvents))
 */
export function batch<T>(options: BatchOptions = {}): OperatorFunction<T, T[]> {
  const { windowMs = 50, max = 32, scheduler = asyncScheduler } = options;
  return pipe(
    bufferTime<T>(windowMs, null, max, scheduler),
    filter((values) => values.length > 0),
  );
}
