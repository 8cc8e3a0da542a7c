import { concatMap, defer, from, map, of, pipe, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { batch } from '../operators/batch.js';
import { eventStamps, type EventStamp } from '../operators/sequenceEvents.js';
import type { RunnerEvent } from '../protocol/types.js';
import { parseJsonObject } from '../protocol/values.js';
import type { JobSpool } from '../streams/spool.js';
import type { PendingEvent, ReadLine } from './line-events.js';

/** A batch written to the spool: its index there, how many events it holds, and the bytes of its body. */
export interface SpooledBatch {
  index: number;
  size: number;
  bytes: number;
}

/**
 * The most bytes of one request body, `{"events":[…]}` as sent. The smallest limit among the protocol's servers is the
 * reference control plane's default of 4 MiB (the cloud's is 10 MB): 3 MiB leaves a MiB of margin under it. It is also
 * three times the 1 MiB cap on a line, so that a line of text under the cap is never cut even when a third of its
 * bytes are quotes, backslashes or tabs (escaped as two bytes); only lines made mostly of control characters (six
 * bytes each, `\u0001`) are.
 */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

const BODY_START = '{"events":[';
const BODY_END = ']}';
/** `{"events":[` and `]}`. */
const BODY_FRAME_BYTES = BODY_START.length + BODY_END.length;

/** One event as it goes on the wire: its JSON, serialized once, and that JSON's size in bytes. */
export interface WireEvent {
  json: string;
  bytes: number;
}

export interface SpoolEventsOptions {
  scheduler: SchedulerLike;
  /** The `seq` of the first event: where a recovery carries on. */
  firstSeq?: number;
  /** Told when an event had to be cut to fit in a request. */
  noteLineChange: (change: ReadLine['change']) => void;
  /** The budget of one request body, in bytes (default {@link MAX_BODY_BYTES}). */
  maxBodyBytes?: number;
}

/**
 * Turns a job's lines into spooled batches: each event gets its id, time and `seq` (counted from `firstSeq`) and is
 * serialized once; events are grouped as they come (at most 32, at most 50 ms after the first), and each group is
 * packed into as many request bodies as its bytes need, each within `maxBodyBytes` (an event too big for any body is
 * cut first). Each body goes to disk, byte for byte as it will be sent, as soon as it is formed; only its index and
 * size move on to wait, in memory, for their turn.
 */
export function spoolEvents(spool: JobSpool, options: SpoolEventsOptions): OperatorFunction<PendingEvent, SpooledBatch> {
  const { scheduler, firstSeq, noteLineChange, maxBodyBytes = MAX_BODY_BYTES } = options;
  const stampOf = eventStamps({ scheduler, firstSeq });
  return pipe(
    // map's index counts per subscription: the sequence of this job's events.
    map((event, index) => wireEvent(event, stampOf(index), maxBodyBytes - BODY_FRAME_BYTES, noteLineChange)),
    batch({ scheduler }),
    concatMap((events) => from(packBodies(events, maxBodyBytes))),
    appendTo(spool),
  );
}

/** The write: each body goes to disk, in order, and only its index moves on. */
function appendTo(spool: JobSpool): OperatorFunction<PackedBody, SpooledBatch> {
  return concatMap(({ body, size, bytes }) => defer(() => of({ index: spool.appendBatch(body), size, bytes })));
}

/**
 * The event's wire JSON, `{"kind":…,"payload":…,"eventId":…,"ts":…,"seq":…}`, within `maxBytes`, written in one go
 * around the payload's JSON (the line as printed, when it can be sent as is). One too big keeps its `eventId`, `ts` and
 * `seq` (it still stands for its line) and carries the start of its text, ended by ` …[truncated N bytes]` (N: the
 * UTF-8 bytes of text dropped); a JSON object too big becomes the truncated text of its JSON, as a `stdout_line`.
 */
export function wireEvent(
  event: PendingEvent,
  stamp: EventStamp,
  maxBytes: number,
  noteLineChange: SpoolEventsOptions['noteLineChange'],
): WireEvent {
  const payloadJson = event.printedJson ?? JSON.stringify(event.payload);
  // The id is a UUID and the time an ISO string: neither needs escaping.
  const json =
    `{"kind":${JSON.stringify(event.kind)},"payload":${payloadJson},` +
    `"eventId":"${stamp.eventId}","ts":"${stamp.ts}","seq":${stamp.seq}}`;
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) return { json, bytes };
  const text = typeof event.payload === 'string' ? event.payload : payloadJson;
  const kind = event.kind === 'stderr_line' ? 'stderr_line' : 'stdout_line';
  const textBytes = Buffer.byteLength(text);
  const frameBytes = Buffer.byteLength(JSON.stringify({ kind, payload: '', ...stamp }));
  // Room for the kept text once escaped, with the longest marker this cut can need.
  const room = maxBytes - frameBytes - Buffer.byteLength(truncationMarker(textBytes));
  const kept = escapedPrefix(text, room);
  const cut = { kind, payload: kept + truncationMarker(textBytes - Buffer.byteLength(kept)), ...stamp };
  const cutJson = JSON.stringify(cut);
  noteLineChange({
    reason: 'cut',
    detail: `event seq ${stamp.seq} was ${bytes} bytes as JSON, over the ${maxBytes} bytes an event may take`,
  });
  return { json: cutJson, bytes: Buffer.byteLength(cutJson) };
}

/** A request body, how many events it holds and its size in bytes. */
interface PackedBody {
  body: string;
  size: number;
  bytes: number;
}

/** Request bodies of the events, in order, each `{"events":[…]}` of at most `maxBytes` (given events that fit alone). */
export function packBodies(events: readonly WireEvent[], maxBytes: number): PackedBody[] {
  const bodies: PackedBody[] = [];
  let current: string[] = [];
  let bytes = BODY_FRAME_BYTES;
  const flush = () => {
    if (current.length) bodies.push({ body: `${BODY_START}${current.join(',')}${BODY_END}`, size: current.length, bytes });
    current = [];
    bytes = BODY_FRAME_BYTES;
  };
  for (const event of events) {
    // An event after the first costs a comma too.
    if (current.length && bytes + 1 + event.bytes > maxBytes) flush();
    bytes += (current.length ? 1 : 0) + event.bytes;
    current.push(event.json);
  }
  flush();
  return bodies;
}

const truncationMarker = (droppedBytes: number) => ` …[truncated ${droppedBytes} bytes]`;

/** The longest start of `text`, cut between characters, whose JSON string escape takes at most `maxBytes`. */
function escapedPrefix(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += escapedBytes(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}

/** The bytes `JSON.stringify` writes for one character (a code point) of a string. */
function escapedBytes(char: string): number {
  // biome-ignore lint/style/noNonNullAssertion: its caller iterates a string by characters: each is one code point.
  const code = char.codePointAt(0)!;
  if (code === 0x22 || code === 0x5c || code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return 2;
  if (code < 0x20) return 6;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  // A lone surrogate is written as `\udxxx`.
  if (code >= 0xd800 && code <= 0xdfff) return 6;
  return code > 0xffff ? 4 : 3;
}

/**
 * One request body holding the events of `bodies` (spooled batches, in order), without parsing them: each is
 * `{"events":[…]}` as {@link packBodies} writes it. Undefined when one is not framed so (a damaged spool): such a body is
 * sent alone, to be refused alone.
 */
export function joinBodies(bodies: readonly string[]): string | undefined {
  const inner: string[] = [];
  for (const body of bodies) {
    if (!body.startsWith(BODY_START) || !body.endsWith(BODY_END)) return undefined;
    if (body.length > BODY_FRAME_BYTES) inner.push(body.slice(BODY_START.length, -BODY_END.length));
  }
  return `${BODY_START}${inner.join(',')}${BODY_END}`;
}

/** Spooled batch `index`, as {@link spoolEvents} would have described it: how a recovery learns what it owes. */
export function spooledBatchAt(spool: JobSpool, index: number): SpooledBatch {
  try {
    const body = spool.readBatch(index);
    return { index, size: countEvents(body), bytes: Buffer.byteLength(body) };
  } catch {
    // Sending it will read it again, fail the same way, and set it aside with the reason.
    return { index, size: 0, bytes: 0 };
  }
}

/** The events of a spooled batch; undefined when the file was damaged (a disk error, a hand edit). */
export function eventsOf(body: string): RunnerEvent[] | undefined {
  const events = parseJsonObject(body)?.events;
  return Array.isArray(events) ? (events as RunnerEvent[]) : undefined;
}

/** How many events a spooled body holds; 0 when it is not a batch (a damaged spool). */
export function countEvents(body: string): number {
  return eventsOf(body)?.length ?? 0;
}
