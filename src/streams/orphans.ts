import { readdirSync, readFileSync } from 'node:fs';

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
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const name of pids) {
    const pid = Number(name);
    try {
      // Field 5 of /proc/<pid>/stat is the process group; the command name before it may hold spaces.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
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
 * Resolves once every process of `pids` has died (a zombie, waiting to be reaped, counts as dead: it runs and
 * writes no more), or after `timeoutMs`, with the pids still running.
 */
export async function waitUntilDead(pids: readonly number[], timeoutMs = 5_000, checkEveryMs = 20): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let running = pids.filter(isRunning);
  while (running.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, checkEveryMs));
    running = running.filter(isRunning);
  }
  return running;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // The state follows the command name, which may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !'ZX'.includes(stat.charAt(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}
