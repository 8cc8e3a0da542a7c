import { Observable, from, type ObservableInput, type OperatorFunction, type Subscription } from 'rxjs';

/** Options of {@link coalesceWhileBusy}. */
export interface CoalesceWhileBusyOptions<T> {
  /**
   * Whether `next` may join `group`, the values already taken for the next call (never empty: a group's first value
   * always goes, whatever its size). Default: always. Use it for a budget, such as events or bytes per request.
   */
  fits?: (group: readonly T[], next: T) => boolean;
}

/**
 * Like `concatMap`, one call of `project` at a time and in order, but what arrives while a call runs is gathered and
 * handed to the next call as one group: a value that finds nothing running goes at once, alone, and a backlog goes as
 * few calls as `fits` allows. So a sender pays per request only when it must wait anyway: live values keep their
 * latency, and a slow or returning server is caught up with in large requests.
 *
 * Values are never dropped, split across groups out of order, or reordered. The result completes once the source has
 * completed and every value was handed to a call that completed; an error of the source or of a call ends it at once
 * (the values still waiting are dropped, as `concatMap` drops its buffer).
 *
 * @example
 * const fits = (group: Event[][], next: Event[]) => group.flat().length + next.length <= 256;
 * batches$.pipe(coalesceWhileBusy((group) => postEvents(group.flat()), { fits }))
 */
export function coalesceWhileBusy<T, R>(
  project: (group: T[]) => ObservableInput<R>,
  options: CoalesceWhileBusyOptions<T> = {},
): OperatorFunction<T, R> {
  const { fits = () => true } = options;
  return (source) =>
    new Observable<R>((subscriber) => {
      // A queue with a moving head: a backlog of thousands is taken from the front without copying the rest each time.
      let waiting: T[] = [];
      let head = 0;
      let running: Subscription | undefined;
      let sourceDone = false;
      let draining = false;

      const waitingAt = (index: number): T =>
        // biome-ignore lint/style/noNonNullAssertion: callers check index < waiting.length; a check of the value could not tell, as T may include undefined.
        waiting[index]!;
      const takeGroup = (): T[] => {
        const group = [waitingAt(head++)];
        while (head < waiting.length && fits(group, waitingAt(head))) group.push(waitingAt(head++));
        // Taken values are let go once they are most of the array: a source that never lets the queue empty must not
        // keep everything it ever sent.
        if (head === waiting.length || head > waiting.length / 2) {
          waiting = waiting.slice(head);
          head = 0;
        }
        return group;
      };

      // A loop, not recursion: calls that complete synchronously must not grow the stack with the backlog.
      const drain = () => {
        if (draining) return;
        draining = true;
        while (!running && head < waiting.length && !subscriber.closed) {
          let completedAtOnce = false;
          let input: ObservableInput<R>;
          try {
            input = project(takeGroup());
          } catch (error) {
            subscriber.error(error);
            break;
          }
          const call = from(input).subscribe({
            next: (value) => subscriber.next(value),
            error: (error: unknown) => subscriber.error(error),
            complete: () => {
              completedAtOnce = true;
              running = undefined;
              if (!draining) drain();
            },
          });
          if (!completedAtOnce) running = call;
        }
        draining = false;
        if (!running && head === waiting.length && sourceDone) subscriber.complete();
      };

      const upstream = source.subscribe({
        next: (value) => {
          waiting.push(value);
          drain();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          sourceDone = true;
          drain();
        },
      });
      return () => {
        upstream.unsubscribe();
        running?.unsubscribe();
      };
    });
}
