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

/**
 * Kills, with SIGKILL, every process of the process group `pgid` that carries `FOUNDEROS_JOB_ID=<jobId>` in its
 * environment: what a runner that died mid-job left running. Checking the job id keeps a recycled pgid safe.
 * Reads /proc, so it does its work on Linux; elsewhere it finds nothing. Returns the pids it killed.
 */
export function killOrphanedAgent(pgid: number, jobId: string): number[] {
  const marker = `FOUNDEROS_JOB_ID=${jobId}`;
  const killed: number[] = [];
  for (const pid of runningMembersOf(pgid) ?? []) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker)) continue;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return killed;
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
    return { state: state!, pgid: Number(pgid) };
  } catch {
    return undefined;
  }
}
