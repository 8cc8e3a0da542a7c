import { asyncScheduler, map, type OperatorFunction, type SchedulerLike } from 'rxjs';

/** Options of {@link sequenceEvents}. */
export interface SequenceEventsOptions {
  /** Makes a fresh event id (default `crypto.randomUUID()`); a counter in tests. */
  newId?: () => string;
  /** Where `ts` is read from (default `asyncScheduler`); a `TestScheduler` in tests. */
  scheduler?: SchedulerLike;
  /** The `seq` of the first event (default 0): where a sequence picks up that an earlier process began. */
  firstSeq?: number;
}

/** What {@link sequenceEvents} adds to each event. */
export interface EventStamp {
  /** Unique per event, so the server can drop a batch it already stored when a retry resends it. */
  eventId: string;
  /** When the event was stamped, as an ISO 8601 string. */
  ts: string;
  /** 0, 1, 2, … in order of emission; gaps tell the server that events were lost. */
  seq: number;
}

/**
 * Stamps each event with a fresh `eventId`, the time `ts` (`new Date(scheduler.now()).toISOString()`)
 * and `seq`, which counts from `firstSeq` in each subscription: a resubscription starts a new sequence,
 * so subscribe once per job. Fields of the event with the same names are overwritten.
 *
 * @example
 * lines$.pipe(map((line) => ({ kind: 'stdout', payload: line })), sequenceEvents())
 */
export function sequenceEvents<T extends { kind: string; payload?: unknown }>(
  options: SequenceEventsOptions = {},
): OperatorFunction<T, T & EventStamp> {
  const stampOf = eventStamps(options);
  // map's index is kept per subscription, which is exactly the sequence we want.
  return map((event, index) => ({ ...event, ...stampOf(index) }));
}

/**
 * The stamps of {@link sequenceEvents} without the events: `stampOf(index)` is the stamp of the event at `index` in
 * its sequence. For a pipeline that writes each event out once, stamp included (as JSON, say), without first copying
 * every event into a stamped object.
 */
export function eventStamps(options: SequenceEventsOptions = {}): (index: number) => EventStamp {
  const { newId = () => globalThis.crypto.randomUUID(), scheduler = asyncScheduler, firstSeq = 0 } = options;
  let lastMs = Number.NaN;
  let lastTs = '';
  // Thousands of lines share a millisecond under load: format each millisecond once.
  const timestamp = () => {
    const now = scheduler.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTs = new Date(now).toISOString();
    }
    return lastTs;
  };
  return (index) => ({ eventId: newId(), ts: timestamp(), seq: firstSeq + index });
}
