/**
 * JSON written as it is serialized, never built as one string: a page of events or an SSE message of any size
 * costs the server its largest event, not the whole answer (a transcript once went into one JSON.stringify and
 * ended the server with `RangeError: Invalid string length`).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * JSON text in pieces: objects and arrays are opened down to `depth` levels, and what lies below is serialized whole,
 * one piece per element. The pieces joined are exactly `JSON.stringify(value)`.
 */
export function* jsonChunks(value: unknown, depth = 2): Generator<string> {
  if (depth <= 0 || value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    // undefined, functions and symbols have no JSON of their own: as an element of an array they are null.
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    yield '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ',';
      yield* jsonChunks(value[i], depth - 1);
    }
    yield ']';
    return;
  }
  yield '{';
  let first = true;
  for (const [key, member] of Object.entries(value)) {
    // JSON.stringify leaves out members it cannot write.
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    yield `${first ? '' : ','}${JSON.stringify(key)}:`;
    first = false;
    yield* jsonChunks(member, depth - 1);
  }
  yield '}';
}

/** Pieces are gathered up to this size before a write, so that the commas and keys between them cost no write each. */
const WRITE_BYTES = 64 * 1024;

/**
 * Writes `pieces` to `out`, gathered into writes of about WRITE_BYTES, waiting for the reader when its buffer is full;
 * stops early (returns false) once `signal` aborts or `out` is destroyed.
 */
export async function writePieces(out: Writable, pieces: Iterable<string>, signal: AbortSignal): Promise<boolean> {
  let pending = '';
  const flush = async () => {
    const text = pending;
    pending = '';
    if (out.destroyed || signal.aborted) return false;
    if (!out.write(text)) await once(out, 'drain', { signal }).catch(() => {});
    return !out.destroyed && !signal.aborted;
  };
  for (const piece of pieces) {
    pending += piece;
    if (pending.length >= WRITE_BYTES && !(await flush())) return false;
  }
  return pending === '' || flush();
}
