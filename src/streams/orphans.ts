import { readdirSync, readFileSync } from 'node:fs';
import { asyncScheduler, defer, last, scan, takeWhile, timer, type Observable, type SchedulerLike } from 'rxjs';

/**
 * Whether `pid` is a live founderos-runner: alive, and (where /proc tells) running this program, so that a
 * recycled pid is not mistaken for a runner that still owns its spool files.
 */
export function isRunnerAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('founderos-runner');
  } catch {
    return true;
  }
}

/** The variable that marks every process of a job: the agent's environment carries it, and its children inherit it. */
export const JOB_MARKER = 'FOUNDEROS_JOB_ID';

/**
 * Every process of this machine that still runs and carries `FOUNDEROS_JOB_ID=<jobId>` in its environment, wherever it
 * went: its own session (`setsid`), a double fork, a sandbox's PID namespace (seen here by its outer pid). This process
 * never counts. Reads /proc, so it finds them on Linux; elsewhere it finds none. A process that cleared the variable
 * from its environment before it started is not found: the marker is what an agent's processes inherit, not a fence.
 */
export function processesOfJob(jobId: string): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const marker = Buffer.from(`${JOB_MARKER}=${jobId}\0`);
  return names.flatMap((name) => {
    if (!/^\d+$/.test(name)) return [];
    const pid = Number(name);
    if (pid === process.pid) return [];
    try {
      // Another user's process cannot be read, and is not this runner's to stop.
      return carries(readFileSync(`/proc/${pid}/environ`), marker) && isRunning(pid) ? [pid] : [];
    } catch {
      return [];
    }
  });
}

/** Whether an environment block (`NAME=value\0…`) holds `marker` (which ends with its `\0`) as one whole entry. */
function carries(environ: Buffer, marker: Buffer): boolean {
  // The block ends without a NUL when a process rewrote it; compare as if it had one.
  const block = environ.at(-1) === 0 ? environ : Buffer.concat([environ, Buffer.of(0)]);
  for (let at = block.indexOf(marker); at !== -1; at = block.indexOf(marker, at + 1)) if (at === 0 || block[at - 1] === 0) return true;
  return false;
}

/** Sends `signal` to every process of job `jobId` (see {@link processesOfJob}); returns the pids it reached. */
export function signalJob(jobId: string, signal: NodeJS.Signals): number[] {
  return processesOfJob(jobId).filter((pid) => {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false; // gone meanwhile
    }
  });
}

/**
 * Kills, with SIGKILL, every process of job `jobId` on this machine: what a runner that died mid-job left running,
 * the agent's process group and whatever left it. A process may fork while the sweep runs: it sweeps again until a
 * pass finds nothing (a few passes at most). Returns the pids it killed.
 */
export function killJobProcesses(jobId: string, passes = 5): number[] {
  const killed = new Set<number>();
  for (let pass = 0; pass < passes; pass++) {
    const found = signalJob(jobId, 'SIGKILL');
    if (found.length === 0) break;
    for (const pid of found) killed.add(pid);
  }
  return [...killed];
}

/**
 * The processes of group `pgid` that still run, from /proc; undefined where there is no /proc. A member that
 * has exited but waits, a zombie, for its parent to reap it is not counted: it runs and writes no more, and
 * where nobody reaps (a container without an init) it would wait forever.
 */
export function runningMembersOf(pgid: number): number[] | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  return names.flatMap((name) => {
    if (!/^\d+$/.test(name)) return [];
    const pid = Number(name);
    const stat = processStat(pid);
    return stat?.pgid === pgid && isRunning(pid, stat) ? [pid] : [];
  });
}

/**
 * Emits, then completes, once every process of `pids` has died (a zombie, waiting to be reaped, counts as dead: it
 * runs and writes no more), or after `timeoutMs`, with the pids still running. Checks every `checkEveryMs` on
 * `scheduler`.
 */
export function waitUntilDead(
  pids: readonly number[],
  {
    timeoutMs = 5_000,
    checkEveryMs = 20,
    scheduler = asyncScheduler,
  }: { timeoutMs?: number; checkEveryMs?: number; scheduler?: SchedulerLike } = {},
): Observable<readonly number[]> {
  return defer(() => {
    const deadline = scheduler.now() + timeoutMs;
    return timer(0, checkEveryMs, scheduler).pipe(
      scan((running) => running.filter((pid) => isRunning(pid)), pids),
      takeWhile((running) => running.length > 0 && scheduler.now() < deadline, true),
      last(),
    );
  });
}

/** Alive and not a zombie; `stat` saves reading /proc again when the caller already has it. */
function isRunning(pid: number, stat = processStat(pid)): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return stat === undefined || !'ZX'.includes(stat.state);
}

/** The state and process group of `pid`, from /proc/<pid>/stat; undefined where it cannot be read. */
function processStat(pid: number): { state: string; pgid: number } | undefined {
  try {
    // The fields follow the command name, which may hold spaces and parentheses: state is the 3rd, pgrp the 5th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, , pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === undefined ? undefined : { state, pgid: Number(pgid) };
  } catch {
    return undefined;
  }
}
