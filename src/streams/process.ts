import { execFile, type ChildProcess } from 'node:child_process';
import spawn from 'cross-spawn';
import { Observable, type Subscription } from 'rxjs';

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
  /** When this emits, the process group gets SIGTERM, then SIGKILL after `killGraceMs`; output still flows until exit. */
  kill$?: Observable<unknown>;
  killGraceMs?: number;
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

/**
 * Runs a program as an Observable: `started`, then its stdout/stderr chunks in arrival order, then `exit`,
 * then completion once every pipe has closed. The child leads its own process group, so that signals
 * reach the shells and servers it starts; when it exits, whatever it left in its group is terminated too,
 * so no agent process outlives its job. Unsubscribing before the exit kills the group at once.
 */
export function spawnProcess(spec: ProcessSpec): Observable<ProcessOutput> {
  return new Observable<ProcessOutput>((subscriber) => {
    const graceMs = spec.killGraceMs ?? 5_000;
    let child: ChildProcess;
    const [command, args] = commandLine(spec.command, spec.args);
    try {
      child = spawn(command, args, {
        cwd: spec.cwd,
        env: spec.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: !isWindows,
        windowsHide: true,
      });
    } catch (error) {
      subscriber.error(new SpawnError(spec.command, (error as NodeJS.ErrnoException).code, error));
      return;
    }

    let exited = false;
    let terminating: ReturnType<typeof setTimeout> | undefined;
    const terminateGroup = () => {
      if (terminating || child.pid === undefined) return;
      signalGroup(child, 'SIGTERM');
      terminating = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    };

    child.on('error', (error: NodeJS.ErrnoException) => {
      // Only spawn failures arrive before the process exists; later errors (e.g. kill on a dead pid) are moot.
      if (!exited) subscriber.error(new SpawnError(spec.command, error.code, error));
    });
    child.stdin?.on('error', () => {
      // EPIPE: the child exited without reading its prompt; its exit code tells the story.
    });
    child.stdout?.on('data', (chunk: Buffer) => subscriber.next({ type: 'stdout', chunk }));
    child.stderr?.on('data', (chunk: Buffer) => subscriber.next({ type: 'stderr', chunk }));
    child.on('exit', (code, signal) => {
      exited = true;
      subscriber.next({ type: 'exit', code, signal });
      // Grandchildren that still hold the pipes would keep 'close' from ever coming.
      if (!isWindows) terminateGroup();
    });
    child.on('close', () => {
      // The pipes can close while group members that ignored SIGTERM live on: their SIGKILL stays due.
      if (!groupAlive(child)) clearTimeout(terminating);
      subscriber.complete();
    });

    if (child.pid !== undefined) subscriber.next({ type: 'started', pid: child.pid });
    child.stdin?.end(spec.stdin ?? '');

    const killSubscription: Subscription | undefined = spec.kill$?.subscribe(() => terminateGroup());
    return () => {
      killSubscription?.unsubscribe();
      if (exited) return;
      // Nobody is left to wait out a grace period: the graceful way is kill$.
      clearTimeout(terminating);
      signalGroup(child, 'SIGKILL');
    };
  });
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

/** Whether any process of the child's group is still running (always false where groups are not used). */
function groupAlive(child: ChildProcess): boolean {
  if (isWindows || child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `command args` once and resolves with its first line of output, or undefined if it fails. */
export function readFirstLine(program: string, programArgs: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const [command, args] = commandLine(program, programArgs);
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, windowsHide: true });
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? output.trim().split('\n')[0] || undefined : undefined));
  });
}

/**
 * A JavaScript file given as the program runs under this Node: no executable bit or shebang needed,
 * which keeps `--claude-bin=./agent.mjs` working from a fresh clone and on Windows.
 */
function commandLine(program: string, args: readonly string[]): [string, string[]] {
  return /\.[cm]?js$/.test(program) ? [process.execPath, [program, ...args]] : [program, [...args]];
}
