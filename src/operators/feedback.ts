import { ReplaySubject, connect, defer, Observable } from 'rxjs';

/**
 * A stream that hears its own output: `build(fed$)` makes the stream, and what `feed` makes of that stream's output
 * comes back to it on `fed$`. It is how an answer further down a pipeline reaches a stage above it (a server's "this
 * job is over" back to the agent it stops; the daemon's load back to the poll that waits for room) as one named
 * edge, instead of a Subject that a `tap` somewhere feeds.
 *
 * - Each subscription builds its own loop.
 * - `fed$` replays the latest value fed to whoever subscribes to it later, then each value as it comes.
 * - A value goes downstream first, then is fed back: a value fed back that ends the output synchronously (a stop) is
 *   not lost on the way.
 * - `feed` runs for as long as the output does: its error ends the result, its completion changes nothing, and it is
 *   unsubscribed when the output ends.
 *
 * @example
 * // 0, 1, 2, one a millisecond: each number is the one before it, fed back, plus one.
 * feedback((fed$) => fed$.pipe(startWith(0), delay(1), take(3)), (output$) => output$.pipe(map((n) => n + 1)))
 */
export function feedback<T, F>(
  build: (fed$: Observable<F>) => Observable<T>,
  feed: (output$: Observable<T>) => Observable<F>,
): Observable<T> {
  return defer(() => {
    const fed = new ReplaySubject<F>(1);
    return build(fed.asObservable()).pipe(
      connect(
        (output$) =>
          new Observable<T>((subscriber) => {
            const mirror = output$.subscribe(subscriber);
            mirror.add(feed(output$).subscribe({ next: (value) => fed.next(value), error: (error: unknown) => subscriber.error(error) }));
            return mirror;
          }),
      ),
    );
  });
}
