import { NEVER, defer, of, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CompletionBody, JobDescriptor, JobPayload } from '../../src/protocol/types.js';
import { RunnerMetrics } from '../../src/runner/metrics.js';
import { runJob, type JobRunnerDeps } from '../../src/runner/run-job.js';
import { stopMessage } from '../../src/runner/stops.js';
import { countEvents } from '../../src/runner/spool-events.js';
import { ApiError, TokenRejectedError } from '../../src/streams/http/errors.js';
import type { AppendOutcome, ClaimOutcome, CompleteOutcome, HeartbeatOutcome, RunnerApi } from '../../src/streams/http/runner-api.js';
import type { ProcessOutput } from '../../src/streams/process.js';
import { job as payloadOf } from '../agents/support.js';
import { MemorySpool } from '../support/memory-spool.js';
import { agentOutput, scriptedSpawn } from '../support/scripted-agent.js';

const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const descriptor: JobDescriptor = { jobId: 'j1', agentId: 'a1', agentName: 'Sarah', createdAt: '2026-11-29T00:00:00Z' };
const RESULT = JSON.stringify({
  type: 'result',
  subtype: 'success',
  is_error: false,
  session_id: 's-new',
  total_cost_usd: 0.25,
  result: 'done',
});

/** Output events by marble letter: `s`tarted, stdout lines `a` `b` `c`, the `r`esult, a clean e`x`it. */
const out: Record<string, ProcessOutput> = {
  s: agentOutput.started(),
  a: agentOutput.stdout('line a\n'),
  b: agentOutput.stdout('line b\n'),
  c: agentOutput.stdout('line c\n'),
  r: agentOutput.stdout(`${RESULT}\n`),
  x: agentOutput.exit(0),
  f: agentOutput.exit(1),
  u: agentOutput.stderr('Error: No conversation found with session ID: s-old\n'),
  // A Claude subscription's spent window (test/fixtures/claude/recorded-usage-limit.jsonl, cut to what is read), resetting
  // an hour after the virtual clock's 0.
  l: agentOutput.stdout(
    `${JSON.stringify({ type: 'rate_limit_event', rate_limit_info: { status: 'rejected', resetsAt: 3600 }, session_id: 's-new' })}\n` +
      `${JSON.stringify({ type: 'result', subtype: 'success', is_error: true, api_error_status: 429, session_id: 's-new', result: "You've hit your 5-hour limit · resets 3pm (UTC)" })}\n`,
  ),
};

/**
 * runJob against a scripted server and agent, in virtual time. The claim takes 1 ms (the job starts at frame 1), every
 * answer takes 1 ms, the retry backoff starts at 100 ms; each spec gives the agent's output as marbles, from frame 1.
 * Batch windows run 50 ms from the start: a line printed at 2 goes out at 51, unless the output ends first.
 */
describe('runJob', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  interface Server {
    appendEvents?: (call: number) => Observable<AppendOutcome>;
    heartbeat?: (call: number) => Observable<HeartbeatOutcome>;
    complete?: () => Observable<CompleteOutcome>;
  }

  /** The deps of one job, and what the server was sent: when each batch came and how many events it held, the completions. */
  function setup(
    cold: TestScheduler['createColdObservable'],
    server: Server,
    scripts: Observable<ProcessOutput>[],
    extra: Partial<JobRunnerDeps> = {},
    payload: Partial<JobPayload> = {},
  ) {
    const sent = { batches: [] as { at: number; events: number }[], heartbeats: [] as number[], completions: [] as CompletionBody[] };
    const ok = cold<AppendOutcome>('-(o|)', { o: { kind: 'accepted' } });
    const api: RunnerApi = {
      nextJob: () => NEVER,
      claim: () => cold<ClaimOutcome>('-(c|)', { c: { kind: 'claimed', payload: payloadOf({ ...payload, jobId: 'j1' }) } }),
      appendEvents: (_jobId, body) =>
        defer(() => {
          sent.batches.push({ at: testScheduler.now(), events: countEvents(body as string) });
          return server.appendEvents?.(sent.batches.length) ?? ok;
        }),
      heartbeat: () =>
        defer(() => {
          sent.heartbeats.push(testScheduler.now());
          return server.heartbeat?.(sent.heartbeats.length) ?? cold<HeartbeatOutcome>('-(o|)', { o: { kind: 'accepted' } });
        }),
      complete: (_jobId, body) =>
        defer(() => {
          sent.completions.push(body);
          return server.complete?.() ?? cold<CompleteOutcome>('-(o|)', { o: { kind: 'accepted' } });
        }),
    };
    const spool = new MemorySpool('j1');
    const agent = scriptedSpawn(...scripts);
    const deps: JobRunnerDeps = {
      api,
      log: silentLog,
      retry: { initialDelayMs: 100, maxDelayMs: 1000, random: () => 1 },
      scheduler: testScheduler,
      spawn: agent.spawn,
      binFor: () => 'claude',
      allowProcessJobs: false,
      cliVersion: () => of('2.0.0 (Claude Code)'),
      agentEnv: () => ({}),
      timeoutCapSec: 600,
      killGraceMs: 10,
      heartbeatMs: 60_000,
      cancel$: NEVER,
      openSpool: () => spool,
      ...extra,
    };
    return { deps, sent, spool, runs: agent.runs };
  }

  it('should deliver the lines in one batch, then complete with the report, once the server has them all', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      // a at 2, b at 11, the result at 16, the exit at 21: the batch goes out at the end of the output, and is accepted at 22
      const { deps, sent, spool } = setup(cold, {}, [cold('s a 8ms b 4ms r 4ms (x|)', out)]);
      expectObservable(runJob(descriptor, deps)).toBe('23ms (j|)', {
        j: {
          jobId: 'j1',
          outcome: 'completed',
          exitCode: 0,
          eventsSent: 3,
          costMicros: 250_000,
          sessionId: 's-new',
          errorMessage: null,
          elapsedSec: 0.021,
          agent: 'claude',
        },
      });
      flush();
      expect(sent.batches).toEqual([{ at: 21, events: 3 }]);
      expect(sent.completions).toEqual([expect.objectContaining({ status: 'completed', cliVersion: '2.0.0 (Claude Code)', signal: null })]);
      expect(spool).toMatchObject({ acked: 0, removed: true, agent: { pid: 4242, adapterType: undefined } });
    });
  });
  it("should stop the agent at the job's timeout and report it failed, with what it printed until then", () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      // a at 2 goes out when its batch window closes at 51; the deadline is 1 s after the start at 1
      const { deps, sent, runs } = setup(cold, {}, [cold('s a', out)], {}, { runtimeConfig: { timeoutSec: 1 } });
      expectObservable(runJob(descriptor, deps)).toBe('1002ms (j|)', {
        j: expect.objectContaining({ outcome: 'failed', exitCode: 143, eventsSent: 1, errorMessage: stopMessage('timeout', 1) }),
      });
      flush();
      expect(sent.batches).toEqual([{ at: 51, events: 1 }]);
      expect(runs[0]).toMatchObject({ killed: true, cutOff: false });
    });
  });

  it('should send the batches that wait while a request is out as one request, and acknowledge them at once', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      // a at 2 goes at 51 and takes the server 200 ms; b (at 60) and c (at 120) are spooled at 101 and 151, and wait
      const server: Server = { appendEvents: (call) => cold(call === 1 ? '200ms (o|)' : '-(o|)', { o: { kind: 'accepted' } }) };
      const metrics = new RunnerMetrics(() => 0);
      const { deps, sent, spool } = setup(cold, server, [cold('s a 57ms b 59ms c 59ms (x|)', out)], { metrics });
      expectObservable(runJob(descriptor, deps)).toBe('253ms (j|)', {
        j: expect.objectContaining({ outcome: 'completed', eventsSent: 3 }),
      });
      flush();
      expect(sent.batches).toEqual([
        { at: 51, events: 1 },
        { at: 251, events: 2 },
      ]);
      expect(spool).toMatchObject({ acked: 2, removed: true });
      expect(spool.batchCount).toBe(3);
      expect(metrics.render()).toMatch(/founderos_runner_events_sent_total 3\n[\s\S]*founderos_runner_spool_backlog_batches 0\n/);
    });
  });

  it('should stop the agent when the server answers 409 to a batch, and not send it the batches left', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      // batch 0 (a) is sent at 51 and refused with 409 at 71; b, printed at 60, is spooled but never sent
      const server: Server = {
        appendEvents: () => cold('20ms (t|)', { t: { kind: 'job_ended' } }),
        complete: () => cold('-(a|)', { a: { kind: 'job_ended' } }),
      };
      const metrics = new RunnerMetrics(() => 0);
      const { deps, sent, spool, runs } = setup(cold, server, [cold('s a 57ms b', out)], { metrics });
      expectObservable(runJob(descriptor, deps)).toBe('72ms (j|)', {
        j: expect.objectContaining({
          outcome: 'cancelled',
          exitCode: 143,
          eventsSent: 0,
          errorMessage: 'cancelled on the server while the job ran',
        }),
      });
      flush();
      expect(sent.batches).toEqual([{ at: 51, events: 1 }]);
      expect(spool.batchCount).toBe(2);
      expect(runs[0]!.killed).toBe(true);
      // both batches are settled, the one never sent included
      expect(metrics.render()).toContain('founderos_runner_spool_backlog_batches 0');
    });
  });

  it('should stop the agent when the server answers 409 to a heartbeat', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const server: Server = { heartbeat: () => cold('-(c|)', { c: { kind: 'job_ended' } }) };
      const { deps, sent } = setup(cold, server, [cold('s a', out)], { heartbeatMs: 100 });
      // the first beat at 101 is answered "cancelled" at 102
      expectObservable(runJob(descriptor, deps)).toBe('103ms (j|)', {
        j: expect.objectContaining({ outcome: 'cancelled', eventsSent: 1, errorMessage: 'cancelled on the server while the job ran' }),
      });
      flush();
      expect(sent.heartbeats).toEqual([101]);
    });
  });

  it("should stop the agent when a heartbeat says the job is gone (404 job_not_found), and keep the next job's heartbeats on", () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const gone: Server = { heartbeat: () => cold('-(g|)', { g: { kind: 'job_gone' } }) };
      const first = setup(cold, gone, [cold('s a', out)], { heartbeatMs: 100 });
      // the first beat at 101 is answered "gone" at 102: the silent agent is stopped
      expectObservable(runJob(descriptor, first.deps)).toBe('103ms (j|)', {
        j: expect.objectContaining({ outcome: 'cancelled', errorMessage: 'cancelled on the server while the job ran' }),
      });
      flush();
      expect(first.sent.heartbeats).toEqual([101]);
      expect(first.runs[0]!.killed).toBe(true);

      const second = setup(cold, {}, [cold('s a 250ms (x|)', out)], { heartbeatMs: 100 });
      const startedAt = testScheduler.now();
      runJob(descriptor, second.deps).subscribe();
      flush();
      expect(second.sent.heartbeats).toEqual([startedAt + 101, startedAt + 201]);
      expect(second.runs[0]!.killed).toBe(false);
    });
  });

  it('should fail the job before any agent starts when its instructions are not base64, naming the field', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const { deps, sent, runs } = setup(cold, {}, [], {}, { runtimeConfig: { instructionsFileContent: 'Be terse.' } });
      expectObservable(runJob(descriptor, deps)).toBe('2ms (j|)', {
        j: expect.objectContaining({
          outcome: 'failed',
          exitCode: -1,
          errorMessage: expect.stringMatching(/^runtimeConfig\.instructionsFileContent must be base64/),
        }),
      });
      flush();
      expect(runs).toEqual([]);
      expect(sent.completions).toEqual([expect.objectContaining({ status: 'failed', exitCode: -1 })]);
    });
  });

  it('should report a run that hit a usage limit as one: in the message, in the completion, in the result', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const { deps, sent } = setup(cold, {}, [cold('s l 3ms (f|)', out)]);
      const errorMessage = "usage limit reached (resets at 1970-01-01T01:00:00.000Z): You've hit your 5-hour limit · resets 3pm (UTC)";
      expectObservable(runJob(descriptor, deps)).toBe('8ms (j|)', {
        j: expect.objectContaining({ outcome: 'failed', agent: 'claude', errorMessage, usageLimit: { resetsAt: 3_600_000 } }),
      });
      flush();
      expect(sent.completions).toEqual([
        expect.objectContaining({ status: 'failed', exitCode: 1, errorMessage, usageLimit: { resetsAt: '1970-01-01T01:00:00.000Z' } }),
      ]);
    });
  });

  it('should give back a job of a CLI paused by a usage limit without starting its agent, as a usage limit', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const until = Date.parse('2026-12-07T15:00:00.000Z');
      const { deps, sent, runs } = setup(cold, {}, [], { pausedUntil: (agent) => (agent === 'claude' ? until : undefined) });
      const errorMessage =
        "usage limit reached (resets at 2026-12-07T15:00:00.000Z): not started: this runner's claude is paused by a usage limit it hit on an earlier job";
      // The result names the CLI (so that the daemon learns the agent's) but no limit of its own: nothing new was hit.
      expectObservable(runJob(descriptor, deps)).toBe('2ms (j|)', {
        j: { jobId: 'j1', outcome: 'failed', exitCode: -1, eventsSent: 0, errorMessage, elapsedSec: 0, agent: 'claude' },
      });
      flush();
      expect(runs).toEqual([]);
      expect(sent.completions).toEqual([
        expect.objectContaining({ status: 'failed', exitCode: -1, errorMessage, usageLimit: { resetsAt: '2026-12-07T15:00:00.000Z' } }),
      ]);
    });
  });

  it('should stop the agent on the second signal and report the job cancelled', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const { deps } = setup(cold, {}, [cold('s a', out)], { cancel$: hot('200ms s') });
      expectObservable(runJob(descriptor, deps)).toBe('201ms (j|)', {
        j: expect.objectContaining({ outcome: 'cancelled', eventsSent: 1, errorMessage: stopMessage('shutdown', 600) }),
      });
    });
  });

  it('should run the agent again, once, in a fresh session when it does not know the session to resume', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      // run 1 fails at 6 saying it has no such session; run 2 starts at 6, prints its result at 7 and exits at 11
      const { deps, sent, runs } = setup(cold, {}, [cold('s u 3ms (f|)', out), cold('s r 3ms (x|)', out)], {}, { sessionId: 's-old' });
      expectObservable(runJob(descriptor, deps)).toBe('13ms (j|)', {
        j: expect.objectContaining({ outcome: 'completed', exitCode: 0, eventsSent: 2, sessionId: 's-new' }),
      });
      flush();
      // both runs' lines, the first run's stderr included, in one batch
      expect(sent.batches).toEqual([{ at: 11, events: 2 }]);
      expect(runs.map((run) => run.spec.args.includes('--resume'))).toEqual([true, false]);
    });
  });

  it('should not run the agent again when a resumed run failed for another reason', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const { deps, runs } = setup(cold, {}, [cold('s a 3ms (f|)', out)], {}, { sessionId: 's-old' });
      expectObservable(runJob(descriptor, deps)).toBe('8ms (j|)', { j: expect.objectContaining({ outcome: 'failed', exitCode: 1 }) });
      flush();
      expect(runs).toHaveLength(1);
    });
  });

  it('should stop beating for a job whose heartbeat the server lacks the route for, and ask again in the next job', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const server: Server = { heartbeat: () => cold('-(n|)', { n: { kind: 'route_missing' } }) };
      const first = setup(cold, server, [cold('s a 250ms (x|)', out)], { heartbeatMs: 100 });
      expectObservable(runJob(descriptor, first.deps)).toBe('254ms (j|)', { j: expect.objectContaining({ outcome: 'completed' }) });
      flush();
      // one beat at 101, answered 404: none at 201
      expect(first.sent.heartbeats).toEqual([101]);

      // One job's answer never turns the route off for the runner's other jobs (PROTOCOL.md, Part 2).
      const second = setup(cold, server, [cold('s a 250ms (x|)', out)], { heartbeatMs: 100 });
      const startedAt = testScheduler.now();
      runJob(descriptor, second.deps).subscribe();
      flush();
      expect(second.sent.heartbeats).toEqual([startedAt + 101]);
    });
  });

  it('should fail the job stream with the rejected token when a batch is answered 401, dropping the agent', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const rejected = new TokenRejectedError('POST events', 'invalid_runner_token', 'req-1', '', undefined);
      const { deps, sent, spool, runs } = setup(cold, { appendEvents: () => cold('-#', undefined, rejected) }, [cold('s a', out)]);
      expectObservable(runJob(descriptor, deps)).toBe('52ms #', undefined, rejected);
      flush();
      // not retried, no completion: the daemon stops and tells the user; the spool keeps the job for the next start
      expect(sent.batches).toHaveLength(1);
      expect(sent.completions).toEqual([]);
      expect(spool.removed).toBe(false);
      expect(runs[0]!.cutOff).toBe(true);
    });
  });

  it('should set aside a batch the server refuses, deliver the later ones, and complete saying what was lost', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const refused = new ApiError(400, 'POST events', 'invalid_request', 'req-1', '');
      const server: Server = {
        appendEvents: (call) => (call === 1 ? cold('-#', undefined, refused) : cold('-(o|)', { o: { kind: 'accepted' } })),
      };
      // batch 0 (a) is sent at 51 and refused at 52; batch 1 (b) goes out when the output ends at 70
      const metrics = new RunnerMetrics(() => 0);
      const { deps, sent, spool } = setup(cold, server, [cold('s a 57ms b 9ms (x|)', out)], { metrics });
      const lost =
        'the agent finished (exit 0), but 1 event in 1 batch was not accepted by the server (400 invalid_request, requestId req-1); the transcript is incomplete';
      expectObservable(runJob(descriptor, deps)).toBe('72ms (j|)', {
        j: expect.objectContaining({ outcome: 'failed', exitCode: 0, eventsSent: 1, errorMessage: lost }),
      });
      flush();
      expect(sent.batches).toEqual([
        { at: 51, events: 1 },
        { at: 70, events: 1 },
      ]);
      expect(spool.setAsideBatches).toEqual([
        { index: 0, events: 1, why: 'refused', status: 400, code: 'invalid_request', requestId: 'req-1' },
      ]);
      expect(sent.completions).toEqual([expect.objectContaining({ status: 'failed', errorMessage: lost })]);
      expect(metrics.render()).toMatch(/founderos_runner_events_sent_total 1\n[\s\S]*founderos_runner_spool_backlog_batches 0\n/);
    });
  });
  it('should fail a job its placement refuses (an extra directory the policy refuses), before any agent starts', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const refused = 'addDirs[0] "/" is the root of the filesystem, so the job was not started; …';
      const { deps, sent, runs } = setup(cold, {}, [cold('s a 3ms (x|)', out)], { contain: () => ({ refused }) }, { addDirs: ['/'] });
      expectObservable(runJob(descriptor, deps)).toBe('2ms (j|)', { j: expect.objectContaining({ outcome: 'failed', exitCode: -1 }) });
      flush();
      expect(runs).toEqual([]);
      expect(sent.completions).toEqual([expect.objectContaining({ status: 'failed', errorMessage: refused })]);
    });
  });

  it('should run the agent as its placement says: the payload it gives, through the spec it places', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const contain: JobRunnerDeps['contain'] = (job) => ({
        job: { ...job, addDirs: ['/granted/dir'] },
        place: (spec) => ({ ...spec, cwd: '/workspaces/a1' }),
      });
      const { deps, runs } = setup(cold, {}, [cold('s r 3ms (x|)', out)], { contain }, { addDirs: ['dir'] });
      expectObservable(runJob(descriptor, deps)).toBe('8ms (j|)', { j: expect.objectContaining({ outcome: 'completed' }) });
      flush();
      expect(runs[0]!.spec).toMatchObject({ cwd: '/workspaces/a1', args: expect.arrayContaining(['--add-dir', '/granted/dir']) });
    });
  });
});
