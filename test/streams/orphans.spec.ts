import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { killJobProcesses, processesOfJob, signalJob, waitUntilDead } from '../../src/streams/orphans.js';
import { isAlive, until } from '../support/runner-process.js';
import { VirtualClock } from '../support/virtual-clock.js';

const children: ChildProcess[] = [];
/** A real process that runs until it is killed. */
const sleeper = async (): Promise<number> => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return child.pid!;
};
afterEach(() => children.splice(0).forEach((child) => child.kill('SIGKILL')));

describe('waitUntilDead', () => {
  const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('should emit no survivors at once when none of the pids runs', async () => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await once(child, 'exit');
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      expectObservable(waitUntilDead([child.pid!], { scheduler })).toBe('(a|)', { a: [] });
    });
  });

  it('should check every checkEveryMs and give up at timeoutMs with the pids still running', async () => {
    const pid = await sleeper();
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      expectObservable(waitUntilDead([pid], { timeoutMs: 1_000, checkEveryMs: 100, scheduler })).toBe('1000ms (a|)', { a: [pid] });
    });
  });

  it('should emit as soon as a check finds the process dead', async () => {
    const pid = await sleeper();
    const clock = new VirtualClock();
    let survivors: readonly number[] | undefined;
    waitUntilDead([pid], { timeoutMs: 5_000, checkEveryMs: 20, scheduler: clock }).subscribe((value) => (survivors = value));
    clock.advance(100);
    expect(survivors).toBeUndefined();
    process.kill(pid, 'SIGKILL');
    await once(children[0]!, 'exit');
    clock.advance(20);
    expect(survivors).toEqual([]);
    expect(clock.now()).toBe(120);
  });
});

describe('processesOfJob, signalJob and killJobProcesses: the machine-wide sweep by FOUNDEROS_JOB_ID', () => {
  /**
   * Starts, with FOUNDEROS_JOB_ID set as `env` says, a shell that leaves three sleepers behind the way agents' servers
   * leave: in the background of its group, in a session of its own (setsid) and double-forked, then exits; resolves
   * with their pids once all three run.
   */
  const leaveSleepers = async (env: NodeJS.ProcessEnv): Promise<number[]> => {
    const script = 'sleep 300 & echo $!; setsid sleep 300 & echo $!; (sleep 300 & echo $!); exit 0';
    const shell = spawn('sh', ['-c', script], { env, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    let out = '';
    shell.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
    await once(shell, 'exit');
    const pids = out.trim().split('\n').map(Number);
    await until(
      () => pids.every(isAlive),
      2_000,
      () => `sleepers did not all start: ${out}`,
    );
    return pids;
  };
  const sleepers: number[] = [];
  afterEach(() => sleepers.splice(0).forEach((pid) => isAlive(pid) && process.kill(pid, 'SIGKILL')));

  it("should find every process carrying the job's marker, wherever it went, and no other", async () => {
    const jobId = randomUUID();
    const ours = await leaveSleepers({ ...process.env, FOUNDEROS_JOB_ID: jobId });
    // Another job, a longer id that starts with this one, and the id under another variable's name.
    const others = [
      ...(await leaveSleepers({ ...process.env, FOUNDEROS_JOB_ID: randomUUID() })),
      ...(await leaveSleepers({ ...process.env, FOUNDEROS_JOB_ID: `${jobId}0` })),
      ...(await leaveSleepers({ ...process.env, FOUNDEROS_JOB_ID: '', NOT_FOUNDEROS_JOB_ID: jobId })),
    ];
    sleepers.push(...ours, ...others);
    expect(processesOfJob(jobId).sort()).toEqual([...ours].sort());
  });

  it('should signal them, and kill them all with SIGKILL, leaving the others running', async () => {
    const jobId = randomUUID();
    const ours = await leaveSleepers({ ...process.env, FOUNDEROS_JOB_ID: jobId });
    const other = await leaveSleepers({ ...process.env, FOUNDEROS_JOB_ID: randomUUID() });
    sleepers.push(...ours, ...other);
    expect(signalJob(jobId, 'SIGCONT').sort()).toEqual([...ours].sort());
    expect(killJobProcesses(jobId).sort()).toEqual([...ours].sort());
    await until(
      () => !ours.some(isAlive),
      2_000,
      () => 'a process of the job survived SIGKILL',
    );
    expect(other.every(isAlive)).toBe(true);
    expect(processesOfJob(jobId)).toEqual([]);
  });

  it('should never count this process, even when it carries the marker itself', () => {
    const jobId = process.env.FOUNDEROS_JOB_ID;
    expect(processesOfJob(jobId ?? randomUUID())).not.toContain(process.pid);
  });
});
