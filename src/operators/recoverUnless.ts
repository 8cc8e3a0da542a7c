import { catchError, throwError, type Observable, type ObservableInput, type OperatorFunction } from 'rxjs';

/**
 * `catchError` for a pipeline with errors it must never swallow: an error for which `isFatal` returns `true` goes on
 * downstream unchanged; any other is handed to `recover`, whose Observable takes the source's place (as in
 * `catchError`, `caught` is the source, to resubscribe to it).
 *
 * The runner recovers from a failed request in many places (a claim, a batch, a heartbeat, a leftover), and in each of
 * them a rejected token must still stop the daemon: one predicate, written once, instead of a rethrow at every place.
 *
 * @example
 * api.heartbeat(jobId).pipe(recoverUnless((error) => error instanceof TokenRejectedError, () => EMPTY))
 */
export function recoverUnless<T, R>(
  isFatal: (error: unknown) => boolean,
  recover: (error: unknown, caught: Observable<T>) => ObservableInput<R>,
): OperatorFunction<T, T | R> {
  return catchError((error: unknown, caught: Observable<T>) => (isFatal(error) ? throwError(() => error) : recover(error, caught)));
}
