import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STOPPED_MID_JOB } from '../../src/runner/recover.js';
import { processesOfJob } from '../../src/streams/orphans.js';
import { base64 } from '../support/control-plane.js';
import { serverAndRunners } from '../support/end-to-end.js';
import { startRecordingProxy } from '../support/recording-proxy.js';
import { isAlive, until, workspaceFile } from '../support/runner-process.js';

/** Nothing lost, nothing stuck: the runner killed with SIGKILL, the server gone for a while, a Part-1-only server. */
describe('durable delivery (end to end)', () => {
  const e2e = serverAndRunners();
  const start = (env: NodeJS.ProcessEnv = {}, serverUrl?: string) => e2e.start([], env, serverUrl);
  const spoolRecords = (dir: string, jobId: string) =>
    readFileSync(join(dir, `${jobId}.ndjson`), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  /** The `line N` numbers of the stored events, in seq order. */
  const lineNumbers = (events: { payload?: unknown }[]) =>
    events.flatMap((event) => {
      const match = /^line (\d+)$/.exec(
        (event.payload as { message?: { content?: { text?: string }[] } }).message?.content?.[0]?.text ?? '',
      );
      return match ? [Number(match[1])] : [];
    });
  const expectOnceInOrder = (events: { seq?: number | null; eventId: string }[]) => {
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    expect(new Set(events.map((event) => event.eventId)).size).toBe(events.length);
  };
  /**
   * A streaming job whose runner gets SIGKILL once the server holds `eventsBeforeKill` of its events. The agent counts
   * what it printed in a file of its workspace (the one place it can write in the sandbox).
   */
  const killRunnerMidJob = async (lines: number, delayMs: number, eventsBeforeKill: number) => {
    const job = await e2e.server.enqueue({ mode: 'stream', lines, delayMs, progressFile: 'printed' }, { agentId: 'recovering' });
    const first = start();
    const progressFile = workspaceFile(first.workDir, 'recovering', 'printed');
    await until(
      async () => (await e2e.server.admin.getJob(job.jobId)).eventCount > eventsBeforeKill,
      15_000,
      () => 'the job never streamed',
    );
    first.signal('SIGKILL');
    await first.exit;
    const printed = () => (existsSync(progressFile) ? Number(readFileSync(progressFile, 'utf8')) : 0);
    return { job, spoolDir: first.spoolDir, printed };
  };

  it('should deliver every line the agent printed, once each, when its runner is killed with SIGKILL, and fail the job as stopped mid-job', async () => {
    const { job, spoolDir, printed } = await killRunnerMidJob(3000, 2, 200);
    expect(existsSync(join(spoolDir, `${job.jobId}.ndjson`))).toBe(true);

    const second = start({ FOUNDEROS_RUNNER_SPOOL_DIR: spoolDir });
    const done = await e2e.server.waitForJob(job.jobId);
    expect(done).toMatchObject({ status: 'failed', errorMessage: STOPPED_MID_JOB });
    const events = await e2e.server.events(job.jobId);
    expectOnceInOrder(events);
    // Every line up to the last one the agent printed before the new runner stopped it: none lost.
    const lines = lineNumbers(events);
    expect(lines).toEqual(lines.map((_, index) => index));
    expect(lines.length).toBeGreaterThanOrEqual(printed());
    await second.waitForLog(/delivering what a previous run left/);
    // The server stores the completion a moment before the runner, having its answer, removes the spool.
    await until(
      () => readdirSync(spoolDir).length === 0,
      5_000,
      () => `the spool still holds ${readdirSync(spoolDir).join(', ')}`,
    );
  });

  it('should replay joined and single batches alike after SIGKILL during a joined request the server stored, without a duplicate', async () => {
    // A slow server, so that lines wait and go as joined requests; the first joined one is stored, its answer lost.
    let joinedStored: (() => void) | undefined;
    const stored = new Promise<void>((resolve) => (joinedStored = resolve));
    let restarted = false;
    const proxy = await startRecordingProxy(e2e.server.url, ({ method, path, body }) => {
      if (restarted || method !== 'POST' || !path.endsWith('/events')) return undefined;
      const joined = (JSON.parse(body) as { events: unknown[] }).events.length > 32;
      if (!joined || !joinedStored) return { delayMs: 30 };
      setTimeout(joinedStored, 100);
      joinedStored = undefined;
      return { dropAnswer: true };
    });
    try {
      const job = await e2e.server.enqueue({ mode: 'stream', lines: 2000, delayMs: 1 });
      const first = start({}, proxy.url);
      await stored;
      first.signal('SIGKILL');
      await first.exit;
      const { eventCount } = await e2e.server.admin.getJob(job.jobId);

      // The spool belongs to the server at the proxy's address: the restarted runner goes through it, unhindered.
      restarted = true;
      const beforeRestart = proxy.recorded.length;
      start({ FOUNDEROS_RUNNER_SPOOL_DIR: first.spoolDir }, proxy.url);
      expect(await e2e.server.waitForJob(job.jobId)).toMatchObject({ status: 'failed', errorMessage: STOPPED_MID_JOB });
      const events = await e2e.server.events(job.jobId);
      expectOnceInOrder(events);
      expect(events.length).toBeGreaterThan(eventCount);
      const lines = lineNumbers(events);
      expect(lines).toEqual(lines.map((_, index) => index));
      // The batches of the lost answer went again, joined again.
      expect(proxy.recorded.slice(beforeRestart).some((request) => (request.events ?? 0) > 32)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('should deliver what the agent printed while no runner was alive, up to its final result', async () => {
    const { job, spoolDir, printed } = await killRunnerMidJob(400, 3, 20);
    const { eventCount: deliveredBeforeRestart } = await e2e.server.admin.getJob(job.jobId);
    // The agent goes on without a runner, to its end: nothing it writes is lost on a closed pipe.
    await until(
      () => printed() === 400,
      15_000,
      () => 'the agent did not finish',
    );

    start({ FOUNDEROS_RUNNER_SPOOL_DIR: spoolDir });
    expect(await e2e.server.waitForJob(job.jobId)).toMatchObject({ status: 'failed', errorMessage: STOPPED_MID_JOB });
    const events = await e2e.server.events(job.jobId);
    expectOnceInOrder(events);
    // init, 400 lines, a tool use, its result and the final result
    expect(events).toHaveLength(404);
    expect(deliveredBeforeRestart).toBeLessThan(404);
    expect(lineNumbers(events)).toEqual(Array.from({ length: 400 }, (_, index) => index));
    expect(events.at(-1)).toMatchObject({ kind: 'claude_result' });
  });

  it('should stop the agent a killed runner left running, grandchildren included', async () => {
    const job = await e2e.server.enqueue({ mode: 'hang' });
    const first = start();
    await e2e.server.waitForJob(job.jobId, ['streaming']);
    // Seen from here by the job's marker (in the sandbox, the agent's own pids are those of its namespace): the agent
    // and its grandchild, and bwrap's two processes when it runs in the sandbox.
    const pids = processesOfJob(job.jobId);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    const { pid } = spoolRecords(first.spoolDir, job.jobId).find((record) => record.t === 'agent') as { pid: number };
    expect(pids).toContain(pid);
    first.signal('SIGKILL');
    await first.exit;
    expect(pids.every(isAlive)).toBe(true);

    const second = start({ FOUNDEROS_RUNNER_SPOOL_DIR: first.spoolDir });
    await until(
      () => !pids.some(isAlive) && processesOfJob(job.jobId).length === 0,
      10_000,
      () => `orphans survived the restart:\n${second.stderr}`,
    );
    expect(await e2e.server.waitForJob(job.jobId)).toMatchObject({ status: 'failed', errorMessage: STOPPED_MID_JOB });
  });

  it('should leave nothing behind of a job whose runner was killed with SIGKILL: its private instructions go with its spool', async () => {
    const job = await e2e.server.enqueue({ mode: 'hang' }, { instructionsFileContent: base64('The secret plan.') });
    const first = start();
    await e2e.server.waitForJob(job.jobId, ['streaming']);
    first.signal('SIGKILL');
    await first.exit;
    // Where a restart looks: beside the spool, private.
    const instructions = join(first.spoolDir, `${job.jobId}.instructions.md`);
    expect(readFileSync(instructions, 'utf8')).toBe('The secret plan.');
    expect(statSync(instructions).mode & 0o777).toBe(0o600);

    const second = start({ FOUNDEROS_RUNNER_SPOOL_DIR: first.spoolDir });
    expect(await e2e.server.waitForJob(job.jobId)).toMatchObject({ status: 'failed', errorMessage: STOPPED_MID_JOB });
    await until(
      () => readdirSync(first.spoolDir).length === 0,
      5_000,
      () => `the spool dir still holds ${readdirSync(first.spoolDir).join(', ')}:\n${second.stderr}`,
    );
  });

  it('should keep the agent running while the server is unreachable and deliver everything in order once it is back', async () => {
    let serverDown = false;
    const proxy = await startRecordingProxy(e2e.server.url, ({ path }) =>
      serverDown && !path.endsWith('/jobs/next') ? { respond: { status: 503, body: '{"error":"unavailable"}' } } : undefined,
    );
    try {
      const job = await e2e.server.enqueue({ mode: 'stream', lines: 400, delayMs: 5 });
      start({}, proxy.url);
      await e2e.server.waitForJob(job.jobId, ['streaming']);
      serverDown = true;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      serverDown = false;
      const done = await e2e.server.waitForJob(job.jobId, undefined, 30_000);
      expect(done.status).toBe('completed');
      const events = await e2e.server.events(job.jobId);
      expect(events.map((event) => event.seq)).toEqual(Array.from({ length: 404 }, (_, index) => index));
      expect(proxy.recorded.some((request) => request.status === 503)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('should work with a server that only speaks Part 1 (no heartbeat route), each job asking once and no more', async () => {
    const proxy = await startRecordingProxy(e2e.server.url, ({ path }) =>
      path.endsWith('/heartbeat') ? { respond: { status: 404, body: '{"error":"not_found"}' } } : undefined,
    );
    try {
      const first = await e2e.server.enqueue({ mode: 'stream', lines: 60, delayMs: 20 });
      const second = await e2e.server.enqueue({ mode: 'stream', lines: 60, delayMs: 20 });
      start({}, proxy.url);
      expect((await e2e.server.waitForJob(first.jobId)).status).toBe('completed');
      expect((await e2e.server.waitForJob(second.jobId)).status).toBe('completed');
      // One job's answer never turns the route off for the others (PROTOCOL.md, Part 2): each job learns it for itself.
      const heartbeats = proxy.recorded.filter((request) => request.path.endsWith('/heartbeat')).map((request) => request.path);
      expect(heartbeats.sort()).toEqual([first.jobId, second.jobId].map((jobId) => `/api/runner/jobs/${jobId}/heartbeat`).sort());
    } finally {
      await proxy.close();
    }
  });
});
