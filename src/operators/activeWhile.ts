import { distinctUntilChanged, EMPTY, endWith, switchMap, takeWhile, type MonoTypeOperatorFunction, type Observable } from 'rxjs';

const SOURCE_COMPLETED = Symbol('source completed');

/**
 * Mirrors the source only while the latest value of `open$` is `true`, so that the daemon polls
 * for a job only while it has room to run one.
 *
 * - Closed until `open$` first emits `true`. Each change to `true` subscribes to the source; each
 *   change to `false` unsubscribes from it, cancelling work in flight such as a long-poll. A cold
 *   source therefore starts afresh every time the gate opens. Repeated equal values do nothing.
 * - Completes as soon as `open$` completes (unsubscribing from the source if it is active): the
 *   gate closes for good. Completes, too, when the source completes while open.
 * - Errors of either `open$` or the source are forwarded.
 *
 * @example
 * jobs$.pipe(activeWhile(capacity$.pipe(map((free) => free > 0))))
 */
export function activeWhile<T>(open$: Observable<boolean>): MonoTypeOperatorFunction<T> {
  return (source) =>
    open$.pipe(
      distinctUntilChanged(),
      endWith(false),
      switchMap((open) => (open ? source.pipe(endWith(SOURCE_COMPLETED)) : EMPTY)),
      takeWhile((value): value is T => value !== SOURCE_COMPLETED),
    );
}
