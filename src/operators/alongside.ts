import { connect, endWith, ignoreElements, merge, takeUntil, type MonoTypeOperatorFunction, type Observable } from 'rxjs';

/**
 * Mirrors the source and keeps `companion$` subscribed for exactly as long as the source runs: its
 * values are ignored, its error ends the result (so it can raise an alarm), and it is unsubscribed as
 * soon as the source completes. Use it for work that lives and dies with another stream, such as a
 * heartbeat beside a job's uploads or a watchdog beside the daemon.
 */
export function alongside<T>(companion$: Observable<unknown>): MonoTypeOperatorFunction<T> {
  return (source) =>
    source.pipe(
      connect((shared) => merge(shared, companion$.pipe(ignoreElements(), takeUntil(shared.pipe(ignoreElements(), endWith(true)))))),
    );
}
