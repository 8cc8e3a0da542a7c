import { Subject, lastValueFrom, tap, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { SpawnError, spawnProcess, type ProcessOutput } from '../../src/streams/process.js';
import { isAlive, until } from '../support/runner-process.js';

const node = (script: string, extra: Partial<Parameters<typeof spawnProcess>[0]> = {}) =>
  spawnProcess({ command: process.execPath, args: ['-e', script], env: process.env, ...extra });
const collect = (events: ProcessOutput[]) => ({
  stdout: Buffer.concat(events.flatMap((event) => (event.type === 'stdout' ? [event.chunk] : []))).toString(),
  stderr: Buffer.concat(events.flatMap((event) => (event.type === 'stderr' ? [event.chunk] : []))).toString(),
  exit: events.find((event) => event.type === 'exit'),
});

describe('spawnProcess', () => {
  it('should deliver the prompt on stdin and stream stdout, stderr and the exit', async () => {
    const events = await lastValueFrom(
      node('let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{process.stdout.write("got "+s);console.error("warn");process.exit(4)})', { stdin: 'the prompt' }).pipe(toArray()),
    );
    expect(events[0]).toMatchObject({ type: 'started', pid: expect.any(Number) });
    expect(collect(events)).toEqual({ stdout: 'got the prompt', stderr: 'warn\n', exit: { type: 'exit', code: 4, signal: null } });
  });

  it('should fail with a SpawnError naming ENOENT when the binary is missing', async () => {
    const run = lastValueFrom(spawnProcess({ command: '/no/such/agent', args: [], env: process.env }));
    await expect(run).rejects.toBeInstanceOf(SpawnError);
    await expect(run).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('should SIGTERM the whole group when kill$ emits, then SIGKILL what ignores it after the grace period', async () => {
    const kill$ = new Subject<void>();
    const script = `
      const { spawn } = require('node:child_process');
      const grandchild = spawn(process.execPath, ['-e', 'process.on("SIGTERM",()=>{});setInterval(()=>{},1000)'], { stdio: 'ignore' });
      process.on('SIGTERM', () => {});
      console.log(grandchild.pid);
      setInterval(() => {}, 1000);`;
    const events: ProcessOutput[] = [];
    const done = lastValueFrom(node(script, { kill$, killGraceMs: 300 }).pipe(tap((event) => events.push(event)), toArray()));
    await until(() => collect(events).stdout.includes('\n'), 5_000, () => 'grandchild never started');
    const grandchildPid = Number(collect(events).stdout.trim());
    kill$.next();
    await done;
    expect(collect(events).exit).toEqual({ type: 'exit', code: null, signal: 'SIGKILL' });
    await until(() => !isAlive(grandchildPid), 2_000, () => 'grandchild survived');
  });

  it('should kill the group at once when unsubscribed before the exit', async () => {
    let pid = 0;
    const subscription = node('setInterval(() => {}, 1000)').subscribe((event) => {
      if (event.type === 'started') pid = event.pid;
    });
    await until(() => pid > 0, 2_000, () => 'never started');
    subscription.unsubscribe();
    await until(() => !isAlive(pid), 2_000, () => 'process survived unsubscribe');
  });
});
