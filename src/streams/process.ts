import { execFile, type ChildProcess } from 'node:child_process';
import spawn from 'cross-spawn';
import { Observable, Subscription, asyncScheduler, interval, type SchedulerLike } from 'rxjs';
import { runningMembersOf } from './orphans.js';
import { openOutputFile, type OutputFile } from './output-file.js';

export type ProcessOutput =
  | { type: 'started'; pid: number }
  | { type: 'stdout'; chunk: Buffer }
  | { type: 'stderr'; chunk: Buffer }
  | { type: 'exit'; code: number | null; signal: NodeJS.Signals | null };

export interface ProcessSpec {
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the child's stdin, which is then closed (an open stdin makes some CLIs wait for more). */
  stdin?: string;
  /**
   * The files the child's stdout and stderr are appended to (created 0600), and read back from as they grow.
   * Output outlives this process that way: see {@link openOutputFile}.
   */
  output: { stdout: string; stderr: string };
  /** When this emits, the process group gets SIGTERM, then SIGKILL after `killGraceMs`; output still flows until exit. */
  kill$?: Observable<unknown>;
  killGraceMs?: number;
  /**
   * Runs the program through another one (the sandbox): given the command line and the environment, returns the
   * command line to spawn. What it throws fails the run as a SpawnError (a `code` of ENOENT: a missing program).
   */
  wrap?: (command: string, args: readonly string[], env: NodeJS.ProcessEnv) => [string, string[]];
  /**
   * Every process of the run wherever it went, its group's and those that left it (`setsid`, a double fork): they are
   * signalled with the group, and the run completes once they are gone too.
   */
  members?: () => readonly number[];
}

/** A spawn that failed before the program ran (missing binary, not executable, bad cwd). */
export class SpawnError extends Error {
  override readonly name = 'SpawnError';
  constructor(
    readonly command: string,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`could not start ${command}: ${code ?? (cause instanceof Error ? cause.message : String(cause))}`, { cause });
  }
}

const isWindows = process.platform === 'win32';
/** How often the output files are read when no change notification came (a watcher can miss one). */
const SAFETY_READ_MS = 500;
/** How often, after the exit, the group is checked for members that are still running (and may still print). */
const GROUP_CHECK_MS = 50;
/** Where zombies cannot be told apart (no /proc), members killed with SIGKILL may linger as such: wait this many checks at most. */
const CHECKS_AFTER_KILL = 5;

/**
 * Runs a program as an Observable: `started`, then its stdout/stderr chunks in the order they are read, then
 * `exit`, then completion once the rest of its output has been read. The child leads its own process group,
 * so that signals reach the shells and servers it starts; when it exits, whatever it left in its group is
 * terminated too, so no agent process outlives its job, and completion waits for the group to be gone.
 * Unsubscribing before the exit kills the group at once. The safety reads, the grace period and the group checks
 * after the exit are timed by `scheduler`, so that a spec can move them on without waiting for them.
 */
export function spawnProcess(spec: ProcessSpec, scheduler: SchedulerLike = asyncScheduler): Observable<ProcessOutput> {
  return new Observable<ProcessOutput>((subscriber) => {
    const graceMs = spec.killGraceMs ?? 5_000;
    // Every timer of this run: all cancelled together once the run is over, however it ended.
    const timers = new Subscription();
    let done = false;
    const fail = (error: unknown) => {
      done = true;
      subscriber.error(error);
    };

    let output: [stdout: OutputFile, stderr: OutputFile];
    try {
      output = openOutputFiles(
        spec.output,
        (type, chunk) => subscriber.next({ type, chunk }),
        () => void readOutput(),
      );
    } catch (error) {
      subscriber.error(new Error(`could not open the output files of ${spec.command}: ${(error as Error).message}`, { cause: error }));
      return;
    }
    const closeOutput = () => output.forEach((file) => file.close());
    // Reads are serialised; a change noticed during a read earns one more pass, so that a read asked for
    // after the exit is sure to see everything written before it. A failed read fails the Observable.
    let reading: Promise<void> | undefined;
    let readAgain = false;
    const readOutput = (): Promise<void> => {
      if (done) return Promise.resolve();
      if (reading) {
        readAgain = true;
        return reading;
      }
      reading = (async () => {
        do {
          readAgain = false;
          for (const file of output) await file.readToEnd();
        } while (readAgain && !done);
      })()
        .catch(fail)
        .finally(() => (reading = undefined));
      return reading;
    };

    let child: ChildProcess;
    try {
      const [program, programArgs] = commandLine(spec.command, spec.args);
      const [command, args] = spec.wrap ? spec.wrap(program, programArgs, spec.env) : [program, programArgs];
      child = spawn(command, args, {
        cwd: spec.cwd,
        env: spec.env,
        stdio: ['pipe', output[0].writeFd, output[1].writeFd],
        detached: !isWindows,
        windowsHide: true,
      });
    } catch (error) {
      closeOutput();
      subscriber.error(new SpawnError(spec.command, (error as NodeJS.ErrnoException).code, error));
      return;
    } finally {
      // The child has its own copies: only its group holds the files open for writing now.
      output.forEach((file) => file.closeWriter());
    }

    let exited = false;
    let terminating = false;
    let killed = false;
    const membersNow = () => spec.members?.() ?? [];
    const signalAll = (signal: NodeJS.Signals, members = membersNow()) => {
      signalGroup(child, signal);
      for (const pid of members) signalPid(pid, signal);
    };
    const terminateGroup = (members?: readonly number[]) => {
      if (terminating || child.pid === undefined) return;
      terminating = true;
      signalAll('SIGTERM', members);
      timers.add(
        scheduler.schedule(() => {
          killed = true;
          signalAll('SIGKILL');
        }, graceMs),
      );
    };
    let checksSinceKill = 0;
    timers.add(interval(SAFETY_READ_MS, scheduler).subscribe(() => void readOutput()));

    child.on('error', (error: NodeJS.ErrnoException) => {
      // Only spawn failures arrive before the process exists; later errors (e.g. kill on a dead pid) are moot.
      if (exited || done) return;
      timers.unsubscribe();
      closeOutput();
      fail(new SpawnError(spec.command, error.code, error));
    });
    child.stdin?.on('error', () => {
      // EPIPE: the child exited without reading its prompt; its exit code tells the story.
    });
    child.on('exit', (code, signal) => {
      exited = true;
      if (done) return;
      subscriber.next({ type: 'exit', code, signal });
      // What it started may still print: the group gets SIGTERM (SIGKILL after the grace period), and the
      // output is read to its end once no member is left to write. A member killed by SIGKILL can write no
      // more even while it waits, a zombie, to be reaped. The members are looked for once, for both the SIGTERM and
      // the first check: a search reads every process of the machine (/proc).
      const membersAtExit = membersNow();
      if (!isWindows) terminateGroup(membersAtExit);
      const finish = (members = membersNow()) => {
        if (done) return;
        // What forked since the SIGKILL gets one too.
        if (killed) for (const pid of members) signalPid(pid, 'SIGKILL');
        if ((groupAlive(child) || members.length > 0) && (!killed || checksSinceKill++ < CHECKS_AFTER_KILL))
          return void timers.add(scheduler.schedule(() => finish(), GROUP_CHECK_MS));
        timers.unsubscribe();
        void readOutput().then(() => {
          if (done) return;
          done = true;
          closeOutput();
          subscriber.complete();
        });
      };
      finish(membersAtExit);
    });

    if (child.pid !== undefined) subscriber.next({ type: 'started', pid: child.pid });
    child.stdin?.end(spec.stdin ?? '');
    void readOutput();

    // After the exit the group is being terminated already; a late kill must not reach a pid that may be reused.
    const killSubscription: Subscription | undefined = spec.kill$?.subscribe(() => {
      if (!exited) terminateGroup();
    });
    return () => {
      killSubscription?.unsubscribe();
      // Nobody is left to wait out a grace period: the graceful way is kill$.
      timers.unsubscribe();
      closeOutput();
      done = true;
      if (exited) return;
      signalAll('SIGKILL');
    };
  });
}

/** The child's stdout and stderr files, in that order; `onChange` asks for a read when either may have grown. */
function openOutputFiles(
  paths: ProcessSpec['output'],
  onChunk: (type: 'stdout' | 'stderr', chunk: Buffer) => void,
  onChange: () => void,
): [stdout: OutputFile, stderr: OutputFile] {
  const stdout = openOutputFile(paths.stdout, (chunk) => onChunk('stdout', chunk), onChange);
  try {
    return [stdout, openOutputFile(paths.stderr, (chunk) => onChunk('stderr', chunk), onChange)];
  } catch (error) {
    stdout.close();
    throw error;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    if (isWindows) {
      // The pid of a .cmd shim is cmd.exe's; only a tree kill reaches the real program.
      execFile('taskkill', ['/pid', String(child.pid), '/T', '/F'], () => undefined);
    } else {
      process.kill(-child.pid, signal);
    }
  } catch {
    // ESRCH: the group is already gone.
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: gone already.
  }
}

/** Whether any process of the child's group is still running (always false where groups are not used). */
function groupAlive(child: ChildProcess): boolean {
  if (isWindows || child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
  } catch {
    return false;
  }
  // kill() also reaches zombies, which print no more; /proc, where there is one, tells them apart.
  const running = runningMembersOf(child.pid);
  return running === undefined || running.length > 0;
}

/**
 * Runs `command args` once and resolves with the first line it printed on stdout, or on stderr when stdout stayed
 * empty (pi 0.74.2 prints its `--version` there), or undefined if it fails or prints nothing.
 */
export function readFirstLine(
  program: string,
  programArgs: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const [command, args] = commandLine(program, programArgs);
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, windowsHide: true });
    const output = { stdout: '', stderr: '' };
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (output.stdout += text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (output.stderr += text));
    const firstLine = (text: string) => text.trim().split('\n')[0] || undefined;
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? (firstLine(output.stdout) ?? firstLine(output.stderr)) : undefined));
  });
}

/**
 * A JavaScript file given as the program runs under this Node: no executable bit or shebang needed,
 * which keeps `--claude-bin=./agent.mjs` working from a fresh clone and on Windows.
 */
function commandLine(program: string, args: readonly string[]): [string, string[]] {
  return /\.[cm]?js$/.test(program) ? [process.execPath, [program, ...args]] : [program, [...args]];
}
