/**
 * Server-sent events for the dashboard: a job's events and status (the job list's stream is job-list.ts's).
 *
 * A job stream sends each page of events as one message whose `id` is the page's cursor. The browser dispatches
 * a message only once it has all of it, and sends the id of the last one it got as `Last-Event-ID` when it
 * reconnects, so a stream resumed from there repeats nothing and misses nothing. Both streams end when their
 * request's signal aborts: the client left or the server is closing.
 */
import type { ServerResponse } from 'node:http';
import { describeValue } from '../../protocol/values.js';
import { invalidRequest } from '../errors.js';
import { jsonChunks, writePieces } from '../json-writer.js';
import { TERMINAL_STATUSES, type AdminApi, type JobStatus } from '../types.js';
import { parseEventCursor } from '../validation.js';

/** `x-accel-buffering: no` and `no-transform` keep reverse proxies (nginx and the like) from holding messages back. */
export const SSE_HEADERS: Record<string, string> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

/** A comment line at least this often keeps idle proxies and browsers from dropping the connection. */
export const KEEPALIVE_MS = 15_000;
/** How long the browser waits before reconnecting after a dropped connection. */
export const RECONNECT_MS = 1_000;
/**
 * Events per message: a 20,000-event job arrives in 20 messages. A message also holds no more than the admin API's
 * EVENT_PAGE_BYTES of payload (and at least one event), so a transcript of large lines comes in messages of a few MiB.
 */
export const EVENTS_PER_MESSAGE = 1000;

export interface SseMessage {
  id?: string;
  event?: string;
  /** JSON-encoded (one line: JSON.stringify never emits a raw line break). */
  data: unknown;
}

/** A message as the pieces it is written in: its data serialized element by element, never as one string. */
export function* sseMessagePieces(message: SseMessage): Generator<string> {
  let head = '';
  if (message.id !== undefined) head += `id: ${message.id}\n`;
  if (message.event !== undefined) head += `event: ${message.event}\n`;
  yield `${head}data: `;
  yield* jsonChunks(message.data, 1);
  yield '\n\n';
}

/**
 * Where a job stream starts: after the `Last-Event-ID` the browser sends on a reconnect, else after `?after=`
 * (a page that already holds events up to there), else at the beginning. Checked here, before the stream's head is
 * sent: once it is, a refusal can only end the stream, and the browser would reconnect to it again and again.
 */
export function resumeCursor(lastEventId: string | string[] | undefined, after: string | null): string | undefined {
  const header = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
  if (header !== undefined && header.trim() !== '') return checkedCursor(header.trim(), 'Last-Event-ID');
  return after === null || after === '' ? undefined : checkedCursor(after, 'after');
}

function checkedCursor(value: string, source: string): string {
  try {
    return parseEventCursor(value).toString();
  } catch {
    throw invalidRequest(
      `${source} must be an event cursor this server sent (the id of an events message); got ${describeValue(value)}. Reload the page.`,
    );
  }
}

/** Writes, waiting for the socket to drain when its buffer is full (a 20,000-event job to a slow client). */
export async function writeChunk(res: ServerResponse, text: string, signal: AbortSignal): Promise<void> {
  await writePieces(res, [text], signal);
}

/** Sends a message as it is serialized, never built whole (an events message holds up to a few MiB). */
export async function sendMessage(res: ServerResponse, message: SseMessage, signal: AbortSignal): Promise<void> {
  await writePieces(res, sseMessagePieces(message), signal);
}

const isTerminal = (status: JobStatus) => TERMINAL_STATUSES.includes(status);

/**
 * A job's stream: `job` (the JobDetail, first and whenever its status changes), `events` (a page, with its cursor
 * as id), and `end` once the job is terminal and every event was sent. Comments keep an idle stream alive.
 */
export async function streamJob(
  res: ServerResponse,
  options: { admin: AdminApi; jobId: string; after: string | undefined; signal: AbortSignal },
): Promise<void> {
  const { admin, jobId, signal } = options;
  let cursor = options.after;
  await writeChunk(res, `retry: ${RECONNECT_MS}\n\n`, signal);
  let sentStatus = (await sendJob()).status;
  async function sendJob() {
    const job = await admin.getJob(jobId);
    await sendMessage(res, { event: 'job', data: job }, signal);
    return job;
  }
  while (!signal.aborted) {
    const page = await admin.listEvents(jobId, { after: cursor, waitMs: KEEPALIVE_MS, limit: EVENTS_PER_MESSAGE, signal });
    if (signal.aborted) return;
    if (page.events.length > 0) {
      await sendMessage(res, { id: page.nextCursor, event: 'events', data: page.events }, signal);
      cursor = page.nextCursor;
    } else if (!isTerminal(page.jobStatus)) {
      await writeChunk(res, ': keep-alive\n\n', signal);
    }
    if (page.jobStatus !== sentStatus) sentStatus = (await sendJob()).status;
    if (page.events.length === 0 && isTerminal(page.jobStatus)) {
      await sendMessage(res, { event: 'end', data: { jobStatus: page.jobStatus } }, signal);
      return;
    }
  }
}

/** The topic a dashboard's WakeHub fires on every change of any job (status or events). */
export const ANY_JOB_TOPIC = 'any-job';

/**
 * A job's events so far as JSON lines (the transcript's download), page by page: a transcript of any size goes
 * out without being held whole, at the pace the client reads.
 */
export async function streamJobLines(res: ServerResponse, options: { admin: AdminApi; jobId: string; signal: AbortSignal }): Promise<void> {
  const { admin, jobId, signal } = options;
  let cursor: string | undefined;
  while (!signal.aborted) {
    const page = await admin.listEvents(jobId, { after: cursor, limit: EVENTS_PER_MESSAGE, signal });
    if (page.events.length === 0) return;
    await writeChunk(res, page.events.map((event) => `${JSON.stringify(event)}\n`).join(''), signal);
    cursor = page.nextCursor;
  }
}
