import { concatMap, from, map, pipe, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { batch } from '../operators/batch.js';
import { sequenceEvents, type EventStamp } from '../operators/sequenceEvents.js';
import type { RunnerEvent } from '../protocol/types.js';
import type { JobSpool } from '../streams/spool.js';
import type { PendingEvent } from './agent-run.js';

/** A batch written to the spool: its index there, and how many events it holds. */
export interface SpooledBatch {
  index: number;
  size: number;
}

/** Request bodies stay under this many bytes of payload, whatever the agent prints. */
const MAX_BATCH_PAYLOAD_BYTES = 1024 * 1024;

/**
 * Turns a job's lines into spooled batches: each event gets its id, time and `seq` (counted from `firstSeq`),
 * events are grouped into batches (at most 32 events, 50 ms and 1 MiB of payload each), and each batch goes to
 * disk as soon as it is formed. Only the batch's index and size move on to wait, in memory, for their turn.
 */
export function spoolEvents(spool: JobSpool, options: { scheduler: SchedulerLike; firstSeq?: number }): OperatorFunction<PendingEvent, SpooledBatch> {
  const { scheduler, firstSeq } = options;
  return pipe(
    sequenceEvents<PendingEvent>({ scheduler, firstSeq }),
    batch({ scheduler }),
    concatMap((events) => from(splitByPayloadBytes(events, MAX_BATCH_PAYLOAD_BYTES))),
    map((events: (PendingEvent & EventStamp)[]) => {
      const wire: RunnerEvent[] = events.map(({ bytes: _bytes, ...event }) => event);
      return { index: spool.appendBatch(JSON.stringify({ events: wire })), size: wire.length };
    }),
  );
}

/** Splits a batch so that no request body carries more than `maxBytes` of payload (a lone huge line still goes alone). */
function splitByPayloadBytes<T extends { bytes: number }>(events: T[], maxBytes: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const event of events) {
    if (current.length > 0 && size + event.bytes > maxBytes) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(event);
    size += event.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
