import {
  asyncScheduler,
  concat,
  connect,
  distinctUntilChanged,
  endWith,
  filter,
  groupBy,
  ignoreElements,
  map,
  mergeMap,
  of,
  scan,
  startWith,
  switchMap,
  takeUntil,
  timer,
  type Observable,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';

/** What {@link pausesByKey} is told about a key: it hit a limit (that ends at `until`, when known), or it got through. */
export type PauseSignal = { key: string; limited: true; until?: number } | { key: string; limited: false };

/** Options of {@link pausesByKey}. */
export interface PausesByKeyOptions {
  /** The pause after a limit that gives no end, in ms (default 60 000); it doubles with each limit in a row. */
  initialPauseMs?: number;
  /** The longest such pause, in ms (default 3 600 000: an hour). */
  maxPauseMs?: number;
  /** Where time comes from (default `asyncScheduler`); a `TestScheduler` in tests. `until` is on its clock. */
  scheduler?: SchedulerLike;
}

/** One key's state: its pause's end (on the scheduler's clock; 0 when none was set) and the limits in a row. */
interface KeyState {
  until: number;
  streak: number;
}

/**
 * Turns signals that keys (agent CLIs, say) hit a limit or got through into the pauses in force: emits the map of
 * every paused key to the end of its pause, first empty, then whenever it changes (a pause starts, moves later, or
 * ends on time).
 *
 * - A limit whose `until` is still ahead pauses its key until then.
 * - A limit without one, or with one already past, pauses its key for a backoff: `initialPauseMs`, doubling with
 *   each limit in a row, up to `maxPauseMs`.
 * - A limit while its key is paused keeps the later of the two ends: a pause is never shortened.
 * - A key that got through (a job ran without hitting the limit) starts its backoff again from `initialPauseMs`; it
 *   does not end a pause in force.
 *
 * Keys are independent: one key's pause never holds another. Completes when the source completes.
 *
 * @example
 * jobResults$.pipe(map(toPauseSignal), pausesByKey({ maxPauseMs: 3_600_000 }))
 */
export function pausesByKey(options: PausesByKeyOptions = {}): OperatorFunction<PauseSignal, ReadonlyMap<string, number>> {
  const { initialPauseMs = 60_000, maxPauseMs = 3_600_000, scheduler = asyncScheduler } = options;

  const next = (state: KeyState, signal: PauseSignal): KeyState => {
    if (!signal.limited) return { ...state, streak: 0 };
    const now = scheduler.now();
    const streak = state.streak + 1;
    const stated = signal.until !== undefined && signal.until > now ? signal.until : undefined;
    const end = stated ?? now + Math.min(maxPauseMs, initialPauseMs * 2 ** (streak - 1));
    return { until: Math.max(state.until, end), streak };
  };

  // A key's pause as it stands: its end from when it is set, then `undefined` when that end comes.
  const pauseOf = (key: string) => (until: number) =>
    concat(of({ key, until }), timer(new Date(until), scheduler).pipe(map(() => ({ key, until: undefined }))));

  return (source) =>
    source.pipe(
      connect((signals$) =>
        signals$.pipe(
          groupBy((signal) => signal.key),
          mergeMap(
            (keySignals$): Observable<{ key: string; until: number | undefined }> =>
              keySignals$.pipe(
                scan(next, { until: 0, streak: 0 }),
                map((state) => state.until),
                // 0: no pause was ever set (the key got through before any limit), not a pause that ends at once.
                filter((until) => until > 0),
                distinctUntilChanged(),
                switchMap(pauseOf(keySignals$.key)),
              ),
          ),
          scan((pauses, { key, until }) => {
            const changed = new Map(pauses);
            if (until === undefined) changed.delete(key);
            else changed.set(key, until);
            return changed;
          }, NO_PAUSES),
          startWith(NO_PAUSES),
          // The pauses' timers would outlive the source: once it is done, so are they.
          takeUntil(signals$.pipe(ignoreElements(), endWith(true))),
        ),
      ),
    );
}

const NO_PAUSES: ReadonlyMap<string, number> = new Map();
