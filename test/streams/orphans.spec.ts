import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntilDead } from '../../src/streams/orphans.js';
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
