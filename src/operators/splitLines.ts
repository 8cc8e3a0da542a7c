import { Observable, type OperatorFunction } from 'rxjs';

/** Options of {@link splitLines}. */
export interface SplitLinesOptions {
  /**
   * The most bytes of one line that are kept (default 1 MiB). Agent CLIs that speak NDJSON write
   * lines far beyond 64 KiB, so the cap is generous; it exists so that one runaway line (a binary
   * blob, a progress bar without newlines) cannot exhaust memory.
   */
  maxLineBytes?: number;
  /** Appended to a cut line; receives the number of bytes of that line that were not emitted. */
  truncationMarker?: (droppedBytes: number) => string;
}

const LF = 0x0a;
const CR = 0x0d;
const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
const defaultTruncationMarker = (droppedBytes: number): string => ` …[truncated ${droppedBytes} bytes]`;

// Each line is decoded on its own, after its bytes are complete, so a character split across
// chunks is never seen half. `ignoreBOM` keeps a U+FEFF as content instead of silently
// removing it from the start of every line.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Turns a stream of byte chunks (a `Buffer` is a `Uint8Array`) or strings into complete text lines.
 *
 * - Lines end at `\n`; one trailing `\r` is removed, so CRLF output reads like LF output. A bare
 *   `\r` elsewhere (spinners, progress bars) is kept as content.
 * - Bytes are decoded as UTF-8 only once a line is complete, so a multi-byte character split
 *   across chunks decodes correctly; invalid bytes become U+FFFD (decoding never throws).
 * - An empty line between two newlines is emitted as `''`. When the source completes, a last line
 *   without a newline is emitted; a final newline does not add an empty line. When the source
 *   errors, the unfinished line is dropped and the error is forwarded.
 * - A line longer than `maxLineBytes` keeps only its first `maxLineBytes` bytes (cut back to a
 *   character boundary) followed by `truncationMarker(droppedBytes)`. The excess is counted and
 *   discarded as it arrives, so memory stays bounded however long the line is.
 * - String chunks are encoded to UTF-8 first; a chunk must not end inside a surrogate pair.
 *
 * State lives in each subscription, so one operator instance can be reused and resubscribed.
 *
 * @example
 * child.stdout$.pipe(splitLines({ maxLineBytes: 256 * 1024 }))
 */
export function splitLines(options: SplitLinesOptions = {}): OperatorFunction<Uint8Array | string, string> {
  const { maxLineBytes = DEFAULT_MAX_LINE_BYTES, truncationMarker = defaultTruncationMarker } = options;
  return (source) =>
    new Observable<string>((subscriber) => {
      const splitter = createLineSplitter(maxLineBytes, truncationMarker, (line) => subscriber.next(line));
      // A throwing truncationMarker must reach the subscriber as an error, not vanish in rxjs's
      // unhandled-error reporter, which is where a throw inside a plain observer callback goes.
      const guard = (work: () => void) => {
        try {
          work();
        } catch (error) {
          subscriber.error(error);
        }
      };
      return source.subscribe({
        next: (chunk) => guard(() => splitter.push(typeof chunk === 'string' ? encoder.encode(chunk) : chunk)),
        error: (error: unknown) => subscriber.error(error),
        complete: () =>
          guard(() => {
            splitter.flush();
            subscriber.complete();
          }),
      });
    });
}

interface LineSplitter {
  push(chunk: Uint8Array): void;
  flush(): void;
}

function createLineSplitter(
  maxLineBytes: number,
  truncationMarker: (droppedBytes: number) => string,
  emit: (line: string) => void,
): LineSplitter {
  // The unfinished line: at most maxLineBytes bytes in `parts`, the rest only counted.
  let parts: Uint8Array[] = [];
  let keptBytes = 0;
  let droppedBytes = 0;
  let lastByteIsCR = false;
  let lineOpen = false;

  const append = (bytes: Uint8Array, copy: boolean) => {
    if (bytes.length === 0) return;
    lineOpen = true;
    lastByteIsCR = bytes[bytes.length - 1] === CR;
    const room = maxLineBytes - keptBytes;
    const kept = bytes.length <= room ? bytes : bytes.subarray(0, room);
    droppedBytes += bytes.length - kept.length;
    if (kept.length === 0) return;
    // A remainder carried to the next chunk is copied: the producer may reuse its buffer, and a
    // view would pin the whole chunk in memory.
    parts.push(copy ? kept.slice() : kept);
    keptBytes += kept.length;
  };

  const endLine = () => {
    let length = keptBytes;
    if (lastByteIsCR) {
      // The line's last byte is in the dropped tail whenever anything was dropped.
      if (droppedBytes > 0) droppedBytes -= 1;
      else length -= 1;
    }
    const [only] = parts;
    const bytes = (parts.length === 1 && only !== undefined ? only : concat(parts, keptBytes)).subarray(0, length);
    let line: string;
    if (droppedBytes > 0) {
      const end = lastCharBoundary(bytes);
      line = decoder.decode(bytes.subarray(0, end)) + truncationMarker(droppedBytes + bytes.length - end);
    } else {
      line = decoder.decode(bytes);
    }
    parts = [];
    keptBytes = 0;
    droppedBytes = 0;
    lastByteIsCR = false;
    lineOpen = false;
    emit(line);
  };

  return {
    push(chunk) {
      let start = 0;
      for (let newline = chunk.indexOf(LF); newline !== -1; newline = chunk.indexOf(LF, start)) {
        append(chunk.subarray(start, newline), false);
        endLine();
        start = newline + 1;
      }
      append(chunk.subarray(start), true);
    },
    flush() {
      if (lineOpen) endLine();
    },
  };
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** The length of `bytes` without a multi-byte UTF-8 character that was cut off at its end. */
function lastCharBoundary(bytes: Uint8Array): number {
  let continuation = 0;
  // Before the first byte, `at` answers undefined: no continuation byte.
  while (continuation < 3 && ((bytes.at(-1 - continuation) ?? 0) & 0xc0) === 0x80) continuation += 1;
  const leadIndex = bytes.length - 1 - continuation;
  const lead = bytes[leadIndex];
  if (lead === undefined) return bytes.length;
  const charLength = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return charLength > continuation + 1 ? leadIndex : bytes.length;
}
