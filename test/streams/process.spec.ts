import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject, lastValueFrom, tap, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { processesOfJob } from '../../src/streams/orphans.js';
import { SpawnError, readFirstLine, spawnProcess, type ProcessOutput, type ProcessSpec } from '../../src/streams/process.js';
import { isAlive, until } from '../support/runner-process.js';
import { VirtualClock } from '../support/virtual-clock.js';

const outputFiles = (): ProcessSpec['output'] => {
  const dir = mkdtempSync(join(tmpdir(), 'process-spec-'));
  return { stdout: join(dir, 'out'), stderr: join(dir, 'err') };
};
const node = (script: string, extra: Partial<ProcessSpec> = {}, clock?: VirtualClock) =>
  spawnProcess({ command: process.execPath, args: ['-e', script], env: process.env, output: outputFiles(), ...extra }, clock);
/** Waits for `run` while its timers run on `clock`, 50 times faster than real time. */
const onFastClock = async <T>(clock: VirtualClock, run: Promise<T>): Promise<T> => {
  const stop = clock.run();
  try {
    return await run;
  } finally {
    stop();
  }
};
const collect = (events: ProcessOutput[]) => ({
  stdout: Buffer.concat(events.flatMap((event) => (event.type === 'stdout' ? [event.chunk] : []))).toString(),
  stderr: Buffer.concat(events.flatMap((event) => (event.type === 'stderr' ? [event.chunk] : []))).toString(),
  exit: events.find((event) => event.type === 'exit'),
});

describe('spawnProcess', () => {
  it('should deliver the prompt on stdin and stream stdout, stderr and the exit', async () => {
    const events = await lastValueFrom(
      node(
        'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{process.stdout.write("got "+s);console.error("warn");process.exit(4)})',
        { stdin: 'the prompt' },
      ).pipe(toArray()),
    );
    expect(events[0]).toMatchObject({ type: 'started', pid: expect.any(Number) });
    expect(collect(events)).toEqual({ stdout: 'got the prompt', stderr: 'warn\n', exit: { type: 'exit', code: 4, signal: null } });
  });

  it('should fail with a SpawnError naming ENOENT when the binary is missing', async () => {
    const run = lastValueFrom(spawnProcess({ command: '/no/such/agent', args: [], env: process.env, output: outputFiles() }));
    await expect(run).rejects.toBeInstanceOf(SpawnError);
    await expect(run).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('should write the output to the files as well, where it outlives this process', async () => {
    const output = outputFiles();
    const events = await lastValueFrom(
      node('console.log("out 1");console.error("err 1");console.log("out 2")', { output }).pipe(toArray()),
    );
    expect(collect(events)).toMatchObject({ stdout: 'out 1\nout 2\n', stderr: 'err 1\n' });
    expect(readFileSync(output.stdout, 'utf8')).toBe('out 1\nout 2\n');
    expect(readFileSync(output.stderr, 'utf8')).toBe('err 1\n');
  });

  it('should read a second run from where the first ended, on a fresh line', async () => {
    const output = outputFiles();
    await lastValueFrom(node('process.stdout.write("unfinished")', { output }));
    const second = collect(await lastValueFrom(node('console.log("second")', { output }).pipe(toArray())));
    expect(second.stdout).toBe('second\n');
    // the first run's last line was ended when it was read; the file must split into the same lines
    expect(readFileSync(output.stdout, 'utf8')).toBe('unfinished\nsecond\n');
  });

  it('should deliver a line that trickles in long after the last, without a pipe to wake it', async () => {
    const clock = new VirtualClock();
    const events = await onFastClock(
      clock,
      lastValueFrom(node('console.log("first"); setTimeout(() => console.log("later"), 100)', {}, clock).pipe(toArray())),
    );
    expect(collect(events).stdout).toBe('first\nlater\n');
  });

  it('should read to the end what the group printed after the leader exited, then SIGKILL it after the grace period', async () => {
    // the grandchild answers the SIGTERM the group gets at the leader's exit by printing, and lives on until SIGKILL
    const script = `
      const { spawn } = require('node:child_process');
      const grandchild = spawn(process.execPath, ['-e', 'process.on("SIGTERM",()=>console.log("grandchild done"));process.send("ready",()=>process.disconnect());setInterval(()=>{},1000)'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      grandchild.on('message', () => process.exit(0));`;
    const clock = new VirtualClock();
    const events = await onFastClock(clock, lastValueFrom(node(script, { killGraceMs: 2_000 }, clock).pipe(toArray())));
    const exitIndex = events.findIndex((event) => event.type === 'exit');
    expect(exitIndex).toBeGreaterThan(0);
    expect(collect(events).stdout).toContain('grandchild done');
    // the group was waited for through the grace period on the clock, not in real time
    expect(clock.now()).toBeGreaterThanOrEqual(2_000);
  });

  it('should fail, naming the file, when the output cannot be written', async () => {
    const run = lastValueFrom(
      spawnProcess({
        command: process.execPath,
        args: ['-e', '0'],
        env: process.env,
        output: { stdout: '/no/such/dir/out', stderr: '/no/such/dir/err' },
      }),
    );
    await expect(run).rejects.toThrow(/could not open the output files of .*node.*no such file or directory, open '\/no\/such\/dir\/out'/);
  });

  it('should SIGTERM the whole group when kill$ emits, then SIGKILL what ignores it after the grace period', async () => {
    const kill$ = new Subject<void>();
    const script = `
      const { spawn } = require('node:child_process');
      const grandchild = spawn(process.execPath, ['-e', 'process.on("SIGTERM",()=>{});process.send("ready",()=>process.disconnect());setInterval(()=>{},1000)'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      process.on('SIGTERM', () => {});
      // the pid once the grandchild ignores SIGTERM too
      grandchild.on('message', () => console.log(grandchild.pid));
      setInterval(() => {}, 1000);`;
    const events: ProcessOutput[] = [];
    const clock = new VirtualClock();
    // Asked once per signal sent while the process runs: a count of the signals, without waiting to see one land.
    let signalsSent = 0;
    const members = () => (signalsSent++, []);
    const done = lastValueFrom(
      node(script, { kill$, killGraceMs: 300, members }, clock).pipe(
        tap((event) => events.push(event)),
        toArray(),
      ),
    );
    await until(
      () => collect(events).stdout.includes('\n'),
      5_000,
      () => 'grandchild never started',
    );
    const grandchildPid = Number(collect(events).stdout.trim());
    const leaderPid = events[0]?.type === 'started' ? events[0].pid : 0;
    kill$.next();
    expect(signalsSent).toBe(1);
    // SIGTERM, ignored by both; no SIGKILL until the grace period has passed on the clock
    clock.advance(299);
    expect(signalsSent).toBe(1);
    expect([isAlive(leaderPid), isAlive(grandchildPid)]).toEqual([true, true]);
    clock.advance(1);
    expect(signalsSent).toBe(2);
    await onFastClock(clock, done);
    expect(collect(events).exit).toEqual({ type: 'exit', code: null, signal: 'SIGKILL' });
    await until(
      () => !isAlive(grandchildPid),
      2_000,
      () => 'grandchild survived',
    );
  });

  it('should kill the group at once when unsubscribed before the exit', async () => {
    let pid = 0;
    const subscription = node('setInterval(() => {}, 1000)').subscribe((event) => {
      if (event.type === 'started') pid = event.pid;
    });
    await until(
      () => pid > 0,
      2_000,
      () => 'never started',
    );
    subscription.unsubscribe();
    await until(
      () => !isAlive(pid),
      2_000,
      () => 'process survived unsubscribe',
    );
  });
});

describe('spawnProcess: members outside the group, and a wrapping program', () => {
  it('should end, with the group, every member that left it, and complete only once they are gone', async () => {
    const jobId = randomUUID();
    // The leader starts a sleeper in a session of its own (out of its group, as `setsid` does), says its pid, and exits.
    const script = `
      const { spawn } = require('node:child_process');
      const sleeper = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
      sleeper.unref();
      console.log(sleeper.pid);`;
    const events = await lastValueFrom(
      node(script, { env: { ...process.env, FOUNDEROS_JOB_ID: jobId }, members: () => processesOfJob(jobId) }).pipe(toArray()),
    );
    const sleeper = Number(collect(events).stdout.trim());
    expect(sleeper).toBeGreaterThan(0);
    expect(isAlive(sleeper)).toBe(false);
    expect(processesOfJob(jobId)).toEqual([]);
  });

  it('should leave a member that left the group running when it is not told of it (the case the hook is for)', async () => {
    const script = `
      const { spawn } = require('node:child_process');
      const sleeper = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
      sleeper.unref();
      console.log(sleeper.pid);`;
    const sleeper = Number(collect(await lastValueFrom(node(script).pipe(toArray()))).stdout.trim());
    try {
      expect(isAlive(sleeper)).toBe(true);
    } finally {
      process.kill(sleeper, 'SIGKILL');
    }
  });

  it('should run the command line the wrap returns, given the program, its arguments and the environment', async () => {
    const seen: unknown[] = [];
    const wrap: ProcessSpec['wrap'] = (command, args, env) => {
      seen.push([command, args, env.WRAP_ME]);
      return ['env', ['WRAPPED=yes', command, ...args]];
    };
    const events = await lastValueFrom(
      node('console.log(process.env.WRAPPED)', { wrap, env: { ...process.env, WRAP_ME: '1' } }).pipe(toArray()),
    );
    expect(collect(events).stdout).toBe('yes\n');
    expect(seen).toEqual([[process.execPath, ['-e', 'console.log(process.env.WRAPPED)'], '1']]);
  });

  it('should fail as a SpawnError, with its code, when the wrap throws', async () => {
    const wrap = () => {
      throw Object.assign(new Error('claude: not found on PATH'), { code: 'ENOENT' });
    };
    const run = lastValueFrom(node('0', { wrap }));
    await expect(run).rejects.toBeInstanceOf(SpawnError);
    await expect(run).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('readFirstLine', () => {
  const read = (script: string) => readFirstLine(process.execPath, ['-e', script], process.env);

  it('should read the first line of stdout, ignoring stderr', async () => {
    expect(await read('console.error("noise"); console.log("1.2.3 (Tool)\\nsecond line")')).toBe('1.2.3 (Tool)');
  });

  it('should read stderr when stdout stays empty, as pi prints its --version', async () => {
    expect(await read('console.error("0.74.2")')).toBe('0.74.2');
  });

  it('should give nothing for a failed run or an empty one', async () => {
    expect(await read('console.log("1.2.3"); process.exit(2)')).toBeUndefined();
    expect(await read('')).toBeUndefined();
  });
});
