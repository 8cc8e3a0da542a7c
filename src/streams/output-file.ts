import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync, watch, writeSync, type FSWatcher } from 'node:fs';
import { EMPTY, defer, from, type Observable } from 'rxjs';
import { OPEN } from './open-flags.js';

/**
 * A file a child process writes its output to, and this process reads as it grows. A file, not a pipe,
 * because a file outlives its reader: when the runner is killed, everything the agent printed (and goes on
 * printing) is still on disk for the next runner to deliver, where a pipe's buffer would die with it.
 */
export interface OutputFile {
  /** A descriptor to hand to the child as its stdout or stderr. */
  readonly writeFd: number;
  /** Closes this process's copy of `writeFd`, once the child has its own. */
  closeWriter(): void;
  /** Reads whatever was appended since the last read, chunk by chunk; resolves at the current end of the file. */
  readToEnd(): Promise<void>;
  close(): void;
}

const CHUNK_BYTES = 64 * 1024;
const LF = 0x0a;

/**
 * Opens `path` for appending (creating it 0600) and follows it from its current end, so that a second run
 * writing to the same file is read from where the first stopped. A file that does not end with a newline
 * gets one first: the reader ended the last run's unfinished line when that run ended, and the file must
 * split into the same lines when read again from the start. `onChange` is called when the file may have
 * grown (it may also be called when it did not).
 */
export function openOutputFile(path: string, onChunk: (chunk: Buffer) => void, onChange: () => void): OutputFile {
  const writeFd = openSync(path, OPEN.append, 0o600);
  let readFd: number;
  try {
    readFd = openSync(path, OPEN.read);
  } catch (error) {
    closeSync(writeFd);
    throw error;
  }
  let position = fstatSync(readFd).size;
  if (position > 0 && lastByte(readFd, position) !== LF) position += writeSync(writeFd, '\n');
  const watcher = watchQuietly(path, onChange);
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let closed = false;
  let writerOpen = true;
  const closeWriter = () => {
    if (writerOpen) closeSync(writeFd);
    writerOpen = false;
  };

  return {
    writeFd,
    async readToEnd() {
      while (!closed) {
        // A synchronous read: the bytes were just written, so they come from the page cache, about 10 µs per 64 KiB,
        // where an asynchronous read's round trip to the thread pool took 0.2 to 0.7 ms of this thread's time per
        // chunk while the agent was appending to the file.
        const bytes = readSync(readFd, buffer, 0, CHUNK_BYTES, position);
        if (bytes === 0) return;
        position += bytes;
        // A copy: the buffer is reused by the next read, and a consumer may keep a chunk.
        onChunk(Buffer.from(buffer.subarray(0, bytes)));
        // Requests and timers run between chunks: an agent that floods must not starve the rest of the runner.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    },
    closeWriter,
    close() {
      if (closed) return;
      closed = true;
      watcher?.close();
      closeWriter();
      closeSync(readFd);
    },
  };
}

function lastByte(fd: number, size: number): number {
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, size - 1);
  const [last = 0] = byte;
  return last;
}

/** A watcher, where the platform has one to spare; callers also check on a timer, so none is not fatal. */
function watchQuietly(path: string, onChange: () => void): FSWatcher | undefined {
  try {
    return watch(path, { persistent: false }, onChange).on('error', () => undefined);
  } catch {
    return undefined;
  }
}

/** The bytes of an output file from its start, a chunk at a time; nothing when there is no such file. */
export function readOutputFile(path: string): Observable<Buffer> {
  return defer(() =>
    existsSync(path)
      ? from(createReadStream(path, { fd: openSync(path, OPEN.read), highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>)
      : EMPTY,
  );
}
