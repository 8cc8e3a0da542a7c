import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { CompletionBody } from '../protocol/types.js';
import { parseJsonObject } from '../protocol/values.js';
import { OPEN, writeNewFile } from './open-flags.js';
import { ensurePrivateDir } from './private-dir.js';

/**
 * The durable spool: one append-only file per job under the runner's state directory. Each batch of events
 * is written there, as the exact request body it will be sent as, before it is sent; the completion too.
 * The file goes only when the server has accepted everything, so a runner that is killed, crashes or loses
 * the network finds on its next start what it still owes the server.
 *
 * Lines of the file:
 *   {"t":"job","jobId":…,"serverUrl":…,"runnerPid":…}   first line
 *   {"events":[…]}                                      a batch, byte for byte the body of POST …/events
 *   {"t":"ack","batches":N}                             the first N batches were accepted
 *   {"t":"set_aside","batches":N,"index":N-1,…}          batch N-1 will never be accepted (see SetAsideBatch); the
 *                                                       first N batches are settled, as after an ack
 *   {"t":"agent","pid":…,"adapter":…}                   the agent's pid and the adapter that reads its output
 *   {"t":"complete","body":{…}}                         the completion, once known
 *
 * Batches stay on disk and only their offsets stay in memory, which is what bounds the runner's memory when
 * the server is slower than the agent. Beside the file, the agent's stdout and stderr are files too (the
 * agent writes them directly), so that lines it printed but the runner had not yet spooled survive a crash; and so
 * is the job's instructions file while the agent runs, so that a killed run's instructions go with its spool.
 */
export interface JobSpool {
  readonly jobId: string;
  /** Where the agent's stdout and stderr go; they are removed with the spool. */
  readonly output: OutputPaths;
  /** How many batches the spool holds, accepted or not. */
  readonly batchCount: number;
  /** Appends a batch and returns its index. */
  appendBatch(body: string): number;
  /** A batch's body: from memory while it waits to be sent (within {@link UNSENT_BODIES_BUDGET}), else from the file. */
  readBatch(index: number): string;
  /** Batches up to and including `index` were accepted. */
  ack(index: number): void;
  /**
   * Batch `batch.index` will never be accepted: it is recorded, and settled like an ack (in one record, so that a crash
   * cannot leave it settled but unrecorded), so that neither this run nor a recovery sends it again.
   */
  setAside(batch: SetAsideBatch): void;
  /** The batches set aside, by this run and the runs of the job before it: the output the server does not have (a copy). */
  readonly setAsideBatches: readonly SetAsideBatch[];
  /** Where the job's instructions file goes while the agent runs; removed with the spool. */
  readonly instructionsPath: string;
  /** The agent runs as process group `pid`, and its stdout is read by the adapter of `adapterType`. */
  recordAgent(pid: number, adapterType: string | undefined): void;
  recordCompletion(body: CompletionBody): void;
  /** Everything was accepted: the file goes. */
  remove(): void;
}

/** A batch the server will never accept, and why: the job's completion says that its output is incomplete. */
export interface SetAsideBatch {
  index: number;
  /** How many events it held (0 when its body was unreadable: then its lines are read again from the agent's files). */
  events: number;
  /** `refused`: a 4xx, final; `failing`: the same 5xx, try after try; `unreadable`: the spool could not give its body. */
  why: 'refused' | 'failing' | 'unreadable';
  /** The server's last answer: its status, error code and request id, for support. */
  status?: number;
  code?: string;
  requestId?: string;
}

/** What a previous runner left of a job. */
export interface LeftoverJob {
  /** The spool file. */
  path: string;
  jobId: string;
  serverUrl: string;
  /** The adapter that was reading the agent's stdout. (The agent's processes are found by their job's marker.) */
  adapterType?: string;
  /** The indexes of the batches not yet accepted, in order. */
  pendingBatches: number[];
  completion?: CompletionBody;
  /** A spool that carries on from where the previous runner stopped. */
  spool: JobSpool;
}

export interface OutputPaths {
  stdout: string;
  stderr: string;
}

/** `$XDG_STATE_HOME/founderos-runner/spool`, else `~/.local/state/founderos-runner/spool`. */
export function defaultSpoolDir(env: NodeJS.ProcessEnv = process.env): string {
  const stateHome = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(stateHome, 'founderos-runner', 'spool');
}

/**
 * Makes the spool directory private (see ensurePrivateDir: created or made 0700, refused when it belongs to another
 * user, with a PrivateDirError) and proves it writable, by creating and removing a file; throws otherwise.
 */
export function prepareSpoolDir(dir: string): void {
  ensurePrivateDir(dir, 'spool directory', '--spool-dir');
  const probe = join(dir, `.probe-${process.pid}-${Date.now()}`);
  writeNewFile(probe, 'ok');
  rmSync(probe);
}

const SUFFIX = '.ndjson';

/**
 * How many bytes of batches waiting to be sent a spool keeps in memory besides writing them, so that a batch is sent
 * from the string just written instead of being read back: enough for the few requests that wait when the server keeps
 * up. Past it, as in an outage or a flood, batches wait on disk alone and are read back when their turn comes, which
 * is what keeps the runner's memory flat whatever the backlog.
 */
export const UNSENT_BODIES_BUDGET = 4 * 1024 * 1024;
const BATCH_PREFIX = '{"events":';

interface Span {
  offset: number;
  length: number;
}

export function openJobSpool(dir: string, jobId: string, serverUrl: string, runnerPid = process.pid): JobSpool {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = spoolPath(dir, jobId);
  // A new file: whatever was at its name (a link, a stale file of the same job) is removed, not written through.
  rmSync(path, { force: true });
  const fd = openSync(path, OPEN.createNew, 0o600);
  const spool = new FileSpool(jobId, path, fd, 0, [], []);
  // Output a run of the same job left behind would be counted as this run's lines after a crash.
  spool.removeOutput();
  spool.writeRecord({ t: 'job', jobId, serverUrl, runnerPid });
  return spool;
}

/**
 * The jobs that runners no longer alive left in `dir`: each with the batches it still owes and, if known,
 * its completion. A file whose runner still runs (another runner sharing the directory) is left alone; a file
 * that cannot be read is handed to `onUnreadable` and skipped, so one bad file never hides the others.
 */
export function findLeftovers(
  dir: string,
  isRunnerAlive: (pid: number) => boolean,
  onUnreadable: (path: string, error: unknown) => void = () => {},
): LeftoverJob[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(SUFFIX))
    .flatMap((name) => {
      const path = join(dir, name);
      try {
        const leftover = readLeftover(path, isRunnerAlive);
        return leftover ? [leftover] : [];
      } catch (error) {
        onUnreadable(path, error);
        return [];
      }
    });
}

/** Where spools that recovery could not deliver are quarantined, out of the next start's way, for a person to look at. */
export const QUARANTINE_DIR = 'quarantine';

/**
 * Moves a spool file and the agent's output files beside it into `quarantine/` (a stamp keeps an earlier one of the
 * same job), so that no later start tries it again; returns the new path of the spool file.
 */
export function quarantineSpool(path: string, now = Date.now()): string {
  const target = join(dirname(path), QUARANTINE_DIR);
  mkdirSync(target, { recursive: true, mode: 0o700 });
  const base = path.slice(0, -SUFFIX.length);
  const moved = (from: string) => join(target, `${basename(from)}.${now}`);
  for (const file of [`${base}.stdout`, `${base}.stderr`]) if (existsSync(file)) renameSync(file, moved(file));
  renameSync(path, moved(path));
  return moved(path);
}

function readLeftover(path: string, isRunnerAlive: (pid: number) => boolean): LeftoverJob | undefined {
  const batches: Span[] = [];
  let header: { jobId?: string; serverUrl?: string; runnerPid?: number } | undefined;
  let acked = 0;
  let adapterType: string | undefined;
  let completion: CompletionBody | undefined;
  const setAside: SetAsideBatch[] = [];
  let validEnd = 0;
  for (const { offset, line } of wholeLines(path)) {
    validEnd = offset + line.length + 1;
    if (line.subarray(0, BATCH_PREFIX.length).toString() === BATCH_PREFIX) {
      batches.push({ offset, length: line.length });
      continue;
    }
    const record = parseJsonObject(line.toString('utf8'));
    if (record?.t === 'job') header = record as typeof header;
    else if (record?.t === 'ack' && typeof record.batches === 'number') acked = record.batches;
    else if (record?.t === 'set_aside' && typeof record.batches === 'number') {
      acked = record.batches;
      const { t: _t, batches: _batches, ...batch } = record;
      setAside.push(batch as unknown as SetAsideBatch);
    } else if (record?.t === 'agent') adapterType = typeof record.adapter === 'string' ? record.adapter : undefined;
    else if (record?.t === 'complete') completion = record.body as CompletionBody;
  }
  if (!header?.jobId || !header.serverUrl) return undefined;
  if (header.runnerPid !== undefined && header.runnerPid !== process.pid && isRunnerAlive(header.runnerPid)) return undefined;
  // A record cut short by the crash is dropped; appending resumes after the last whole line.
  const fd = openSync(path, OPEN.readWrite);
  ftruncateSync(fd, validEnd);
  const spool = new FileSpool(header.jobId, path, fd, validEnd, batches, setAside);
  spool.writeRecord({ t: 'job', jobId: header.jobId, serverUrl: header.serverUrl, runnerPid: process.pid });
  return {
    path,
    jobId: header.jobId,
    serverUrl: header.serverUrl,
    adapterType,
    pendingBatches: Array.from({ length: batches.length - acked }, (_, offset) => acked + offset),
    completion,
    spool,
  };
}

/**
 * The file's complete lines with their offsets, read a chunk at a time, so that a spool of hundreds of MB is
 * scanned in the memory of its longest line. Each `line` is valid only until the next one is asked for.
 */
function* wholeLines(path: string, chunkBytes = 1 << 20): Generator<{ offset: number; line: Buffer }> {
  const fd = openSync(path, OPEN.read);
  const chunk = Buffer.allocUnsafe(chunkBytes);
  let carry = Buffer.alloc(0);
  let carryOffset = 0;
  try {
    for (let position = 0; ; ) {
      const read = readSync(fd, chunk, 0, chunkBytes, position);
      if (read === 0) return;
      position += read;
      const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      let start = 0;
      for (let end = data.indexOf(10); end !== -1; start = end + 1, end = data.indexOf(10, start)) {
        yield { offset: carryOffset + start, line: data.subarray(start, end) };
      }
      // Copied: the chunk buffer is reused by the next read.
      carry = Buffer.from(data.subarray(start));
      carryOffset += start;
    }
  } finally {
    closeSync(fd);
  }
}

class FileSpool implements JobSpool {
  readonly output: OutputPaths;
  readonly instructionsPath: string;
  /** The first unsent batches' bodies, by index, in order; settled ones are dropped (see UNSENT_BODIES_BUDGET). */
  private readonly unsentBodies = new Map<number, string>();
  private unsentBytes = 0;

  constructor(
    readonly jobId: string,
    private readonly path: string,
    private fd: number | undefined,
    private size: number,
    private readonly batches: Span[],
    private readonly batchesSetAside: SetAsideBatch[],
  ) {
    const base = path.slice(0, -SUFFIX.length);
    this.output = { stdout: `${base}.stdout`, stderr: `${base}.stderr` };
    this.instructionsPath = `${base}.instructions.md`;
  }

  get batchCount(): number {
    return this.batches.length;
  }

  get setAsideBatches(): readonly SetAsideBatch[] {
    return this.batchesSetAside.map((batch) => ({ ...batch }));
  }

  appendBatch(body: string): number {
    const offset = this.append(`${body}\n`);
    const length = Buffer.byteLength(body);
    const index = this.batches.push({ offset, length }) - 1;
    if (this.unsentBytes + length <= UNSENT_BODIES_BUDGET) {
      this.unsentBodies.set(index, body);
      this.unsentBytes += length;
    }
    return index;
  }

  readBatch(index: number): string {
    const kept = this.unsentBodies.get(index);
    if (kept !== undefined) return kept;
    const span = this.batches[index];
    if (!span || this.fd === undefined) throw new Error(`spool ${this.path} has no batch ${index}`);
    const buffer = Buffer.allocUnsafe(span.length);
    readSync(this.fd, buffer, 0, span.length, span.offset);
    return buffer.toString('utf8');
  }

  ack(index: number): void {
    this.writeRecord({ t: 'ack', batches: index + 1 });
    this.forgetBodiesUpTo(index);
  }

  setAside(batch: SetAsideBatch): void {
    this.writeRecord({ t: 'set_aside', batches: batch.index + 1, ...batch });
    this.batchesSetAside.push({ ...batch });
    this.forgetBodiesUpTo(batch.index);
  }

  private forgetBodiesUpTo(index: number): void {
    // Kept in index order, so the settled ones are at the front.
    for (const [kept, body] of this.unsentBodies) {
      if (kept > index) break;
      this.unsentBodies.delete(kept);
      this.unsentBytes -= Buffer.byteLength(body);
    }
  }

  recordAgent(pid: number, adapterType: string | undefined): void {
    this.writeRecord({ t: 'agent', pid, adapter: adapterType });
  }

  recordCompletion(body: CompletionBody): void {
    this.writeRecord({ t: 'complete', body });
  }

  remove(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.removeOutput();
    // The spool file goes last, so that a crash in between leaves no output file without the spool that owns it.
    rmSync(this.path, { force: true });
  }

  removeOutput(): void {
    rmSync(this.output.stdout, { force: true });
    rmSync(this.output.stderr, { force: true });
    rmSync(this.instructionsPath, { force: true });
  }

  writeRecord(record: Record<string, unknown>): void {
    this.append(`${JSON.stringify(record)}\n`);
  }

  private append(text: string): number {
    if (this.fd === undefined) throw new Error(`spool ${this.path} was already removed`);
    const offset = this.size;
    const buffer = Buffer.from(text, 'utf8');
    writeSync(this.fd, buffer, 0, buffer.length, offset);
    this.size += buffer.length;
    return offset;
  }
}

function spoolPath(dir: string, jobId: string): string {
  return join(dir, `${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}${SUFFIX}`);
}
