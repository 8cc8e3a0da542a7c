import { NEVER, of, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { ForcedExitError, runDaemon, type DaemonDeps } from '../../src/runner/daemon.js';
import type { CompletionBody, JobDescriptor } from '../../src/protocol/types.js';
import { ApiError, MalformedAnswerError, RedirectRefusedError, TokenRejectedError } from '../../src/streams/http/errors.js';
import type { ClaimOutcome, CompleteOutcome, NextJobOutcome, RunnerApi } from '../../src/streams/http/runner-api.js';
import { job as payloadOf } from '../agents/support.js';
import { MemorySpool } from '../support/memory-spool.js';

const job = (jobId: string): JobDescriptor => ({ jobId, agentId: 'a', agentName: 'Sarah', createdAt: '2026-01-01T00:00:00Z' });
const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * The daemon in virtual time, with the server's answers as marbles. Claims that are lost keep every job
 * inside RxJS (no process, no promise), which is what lets the scheduler drive the whole loop.
 */
describe('runDaemon', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  const deps = (api: Partial<RunnerApi>, signals$: Observable<NodeJS.Signals>, extra: Partial<DaemonDeps> = {}): DaemonDeps => ({
    api: api as RunnerApi,
    log: silentLog,
    spawn: () => NEVER,
    binFor: () => 'claude',
    allowProcessJobs: false,
    openSpool: () => {
      throw new Error('no job runs an agent in these specs');
    },
    cliVersion: async () => undefined,
    agentEnv: () => ({}),
    timeoutCapSec: 600,
    killGraceMs: 10,
    heartbeatMs: 10_000,
    retry: { initialDelayMs: 100, maxDelayMs: 1000, random: () => 1 },
    scheduler: testScheduler,
    signals$,
    pollMinIntervalMs: 0,
    ...extra,
  });

  /**
   * A long-poll that fails with each of `failures` in turn (as `failure` marbles), then offers j1 each time, whose claim
   * is lost; and a log that keeps the warnings.
   */
  function failingPolls(cold: TestScheduler['createColdObservable'], failures: unknown[], failure: string) {
    let call = 0;
    const nextJob = () =>
      call < failures.length
        ? cold<NextJobOutcome>(failure, undefined, failures[call++])
        : cold<NextJobOutcome>('-(a|)', { a: { kind: 'job', job: job('j1') } });
    const claim = () => cold<ClaimOutcome>('(l|)', { l: { kind: 'job_ended' } });
    const warnings: string[] = [];
    const log = {
      ...silentLog,
      warn: (message: string, fields?: Record<string, unknown>) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    };
    return { api: { nextJob, claim }, log, warnings };
  }

  it('should poll again at once after an empty answer and claim each job it is offered', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const answers: NextJobOutcome[] = [{ kind: 'empty' }, { kind: 'job', job: job('j1') }, { kind: 'job', job: job('j2') }];
      let call = 0;
      const nextJob = () => cold<NextJobOutcome>('---(a|)', { a: answers[Math.min(call++, answers.length - 1)]! });
      const claim = () => cold<ClaimOutcome>('-(l|)', { l: { kind: 'job_ended' } });
      const signals = hot<NodeJS.Signals>('----------- 18ms s', { s: 'SIGTERM' });
      const results = runDaemon(deps({ nextJob, claim }, signals));
      // empty at 3, j1 at 6 → lost at 7, j2 at 10 → lost at 11, … until the signal at 29 cancels the poll in flight
      expectObservable(results).toBe('-------a 3ms a 3ms a 3ms a 3ms a 3ms a 1ms |', {
        a: expect.objectContaining({ outcome: 'lost' }),
      });
    });
  });

  it('should not poll while a job is being claimed or run', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const nextJob = () => cold<NextJobOutcome>('--(a|)', { a: { kind: 'job', job: job('j1') } });
      const claims = cold<ClaimOutcome>('-----(l|)', { l: { kind: 'job_ended' } });
      const signals = hot<NodeJS.Signals>('-------------s', { s: 'SIGINT' });
      let polls = 0;
      const counted = () => {
        polls++;
        return nextJob();
      };
      // the signal at 13 stops polling; the job claimed at 9 still runs to its end at 14
      expectObservable(runDaemon(deps({ nextJob: counted, claim: () => claims }, signals))).toBe('-------a------(a|)', {
        a: expect.objectContaining({ jobId: 'j1', outcome: 'lost' }),
      });
      testScheduler.flush();
      // polls at 0 and 7 only: none while a 5 ms claim was in flight, none after the signal
      expect(polls).toBe(2);
    });
  });

  it('should poll while fewer than `concurrency` jobs run, and again as soon as one ends', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const polls: number[] = [];
      let offered = 0;
      const nextJob = () => {
        polls.push(testScheduler.now());
        return cold<NextJobOutcome>('---(a|)', { a: { kind: 'job', job: job(`j${++offered}`) } });
      };
      // j1's claim takes 20 ms, j2's 5 ms, and so on
      const claim = (jobId: string) =>
        cold<ClaimOutcome>(Number(jobId.slice(1)) % 2 ? '20ms (l|)' : '5ms (l|)', { l: { kind: 'job_ended' } });
      const results = runDaemon(deps({ nextJob, claim }, NEVER, { concurrency: 2 }));
      // j1 comes at 3 and j2 at 6: two run, so no poll until j2 ends at 11; j3 comes at 14, and the next poll waits
      // for j1 to end at 23
      expectObservable(results, '^ 30ms !').toBe('11ms b 11ms a', {
        a: expect.objectContaining({ jobId: 'j1' }),
        b: expect.objectContaining({ jobId: 'j2' }),
      });
      flush();
      expect(polls).toEqual([0, 3, 11, 23]);
    });
  });

  it('should back off when the server fails, and stop at once on the first signal when idle', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const nextJob = () => cold<NextJobOutcome>('-#', undefined, Object.assign(new Error('down'), { status: 503 }));
      const signals = hot<NodeJS.Signals>('500ms s', { s: 'SIGTERM' });
      expectObservable(runDaemon(deps({ nextJob }, signals))).toBe('500ms |');
    });
  });

  it('should end with the poll error when the server refuses the token', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const refused = new TokenRejectedError('GET jobs/next', 'invalid_runner_token', 'req-1', '', undefined);
      const nextJob = () => cold<NextJobOutcome>('--#', undefined, refused);
      expectObservable(runDaemon(deps({ nextJob }, NEVER))).toBe('--#', undefined, refused);
    });
  });

  it('should error with ForcedExitError on the third signal', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const nextJob = () => cold<NextJobOutcome>('--(a|)', { a: { kind: 'job', job: job('j1') } });
      const claim = () => cold<ClaimOutcome>('1000ms (l|)', { l: { kind: 'job_ended' } });
      const signals = hot<NodeJS.Signals>('----a-b-c', { a: 'SIGINT', b: 'SIGINT', c: 'SIGINT' });
      expectObservable(runDaemon(deps({ nextJob, claim }, signals))).toBe('--------#', undefined, new ForcedExitError());
    });
  });

  it('should not count claims lost to another runner toward maxJobs', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const nextJob = () => cold<NextJobOutcome>('--(a|)', { a: { kind: 'job', job: job('j1') } });
      const claim = () => cold<ClaimOutcome>('-(g|)', { g: { kind: 'job_gone' } });
      expectObservable(runDaemon(deps({ nextJob, claim }, NEVER, { maxJobs: 1 })), '^ 12ms !').toBe('---a--a--a--a', {
        a: expect.objectContaining({ outcome: 'gone' }),
      });
    });
  });

  it('should keep polling, backing off, whatever the long-poll answers instead of a job, and take the job that comes after', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const failures = [
        new MalformedAnswerError('GET jobs/next', 'req-1', ['the answer must be a JSON object (got null)']),
        new ApiError(404, 'GET jobs/next', 'not_found', undefined, ''),
        new RedirectRefusedError('GET jobs/next', 302, 'https://elsewhere.example.com/', undefined),
        new ApiError(400, 'GET jobs/next', undefined, undefined, 'bad'),
      ];
      const { api, log, warnings } = failingPolls(cold, failures, '#');
      // backoff with random() = 1: 100, 200, 400 and 800 ms; the job comes 1 ms later, and again each ms after
      expectObservable(runDaemon(deps(api, NEVER, { log })), '^ 1502ms !').toBe('1501ms a a', {
        a: expect.objectContaining({ jobId: 'j1', outcome: 'lost' }),
      });
      testScheduler.flush();
      expect(warnings).toHaveLength(4);
      expect(warnings[0]).toContain('requestId req-1');
    });
  });

  it('should poll again when a busy server asks (429, Retry-After), saying so, and back off as usual when it does not ask', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const busy = (retryAfterMs?: number) =>
        new ApiError(429, 'GET jobs/next', 'too_many_polls', undefined, '', retryAfterMs === undefined ? {} : { retryAfterMs });
      const { api, log, warnings } = failingPolls(cold, [busy(5_000), busy()], '-#');
      // 429 at 1, polled again at 5001 as asked; 429 without a wait at 5002, the second retry's backoff (200 ms), the job at 5203
      expectObservable(runDaemon(deps(api, NEVER, { log })), '^ 5203ms !').toBe('5203ms a', {
        a: expect.objectContaining({ jobId: 'j1', outcome: 'lost' }),
      });
      testScheduler.flush();
      expect(warnings[0]).toContain('"inMs":5000');
      expect(warnings[0]).toContain('it asks to wait 5 s (Retry-After)');
    });
  });

  it("should ask for a longer wait only once the server applies waits, and go back to the protocol's 30 s, saying so once, when a long wait fails after 30 s", () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const asked: number[] = [];
      // Not applied, applied, then the long wait is cut at 60 s (a proxy's read timeout), then applied again.
      const polls = [
        () => cold<NextJobOutcome>('30s (e|)', { e: { kind: 'empty' } }),
        () => cold<NextJobOutcome>('30s (e|)', { e: { kind: 'empty', waitAppliedSec: 30 } }),
        () => cold<NextJobOutcome>('60s #', undefined, new ApiError(504, 'GET jobs/next', undefined, undefined, 'Gateway Timeout')),
      ];
      const nextJob = (_excluded?: readonly string[], waitSec = 30) => {
        asked.push(waitSec);
        return (polls[asked.length - 1] ?? (() => cold<NextJobOutcome>('30s (e|)', { e: { kind: 'empty', waitAppliedSec: 30 } })))();
      };
      const warnings: string[] = [];
      const log = { ...silentLog, warn: (message: string) => warnings.push(message) };
      const signals = hot<NodeJS.Signals>('300s s', { s: 'SIGTERM' });
      expectObservable(runDaemon(deps({ nextJob }, signals, { log, longPollWaitSec: 300 }))).toBe('300s |');
      testScheduler.flush();
      expect(asked.slice(0, 5)).toEqual([30, 30, 300, 30, 30]);
      expect(asked.filter((sec) => sec > 30)).toHaveLength(1);
      expect(warnings.filter((w) => w.includes('asked the server to wait 300s failed after 60s'))).toHaveLength(1);
    });
  });

  it('should not blame the path when a long wait ends with the token refused', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const refused = new TokenRejectedError('GET jobs/next', 'invalid_runner_token', 'req-1', '', undefined);
      let polls = 0;
      const nextJob = () =>
        polls++ === 0
          ? cold<NextJobOutcome>('(e|)', { e: { kind: 'empty', waitAppliedSec: 30 } })
          : cold<NextJobOutcome>('60s #', undefined, refused);
      const warnings: string[] = [];
      const log = { ...silentLog, warn: (message: string) => warnings.push(message) };
      expectObservable(runDaemon(deps({ nextJob }, NEVER, { log, longPollWaitSec: 300 }))).toBe('60s #', undefined, refused);
      testScheduler.flush();
      expect(warnings).toEqual([]);
    });
  });

  it('should go back to polling when the claim keeps failing, without ending', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const nextJob = () => cold<NextJobOutcome>('--(a|)', { a: { kind: 'job', job: job('j1') } });
      const claim = () => cold<ClaimOutcome>('#', undefined, new ApiError(503, 'POST jobs/j1/claim', undefined, undefined, ''));
      // five attempts, waiting 100 + 200 + 400 + 800 ms between them; then the next poll, and so on
      expectObservable(runDaemon(deps({ nextJob, claim }, NEVER)), '^ 3200ms !').toBe('1502ms a 1501ms a', {
        a: expect.objectContaining({ jobId: 'j1', outcome: 'unclaimed', errorMessage: 'server answered 503 to POST jobs/j1/claim' }),
      });
    });
  });

  /**
   * The daemon's pauses after usage limits (docs/usage-limits.md), in virtual time. A pause a previous run left (the
   * pause file) starts each spec, so that no agent needs to run: claude is paused until 100 ms.
   */
  describe('while an agent CLI is paused by a usage limit', () => {
    const CLAUDE = ['claude_local', 'byo_runner'];
    const iso = (ms: number) => new Date(ms).toISOString();
    const restored = { claude: { until: iso(100), since: iso(0), reason: 'usage limit reached (…)' } };

    /** The daemon's deps, its long-polls (when, excluding what), completions and log lines. */
    function setup(
      nextJob: (excluded: readonly string[]) => Observable<NextJobOutcome>,
      claim: (jobId: string) => Observable<ClaimOutcome>,
    ) {
      const polls: [number, readonly string[]][] = [];
      const completions: [string, CompletionBody][] = [];
      const lines: string[] = [];
      const log = { ...silentLog, info: (line: string) => lines.push(line), warn: (line: string) => lines.push(line) };
      const api: Partial<RunnerApi> = {
        nextJob: (excluded = []) => {
          polls.push([testScheduler.now(), excluded]);
          return nextJob(excluded);
        },
        claim,
        complete: (jobId, body) => {
          completions.push([jobId, body]);
          return of<CompleteOutcome>({ kind: 'accepted' });
        },
      };
      const daemonDeps = deps(api, NEVER, {
        log,
        openSpool: (jobId) => new MemorySpool(jobId),
        usagePauses: { restored, leftJobWaitMs: 30 },
      });
      return { deps: daemonDeps, polls, completions, lines };
    }

    it('should exclude the paused CLI from its long-poll, and poll afresh without it as soon as the pause ends, saying so', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const { deps, polls, lines } = setup(
          () => cold<NextJobOutcome>('-'),
          () => NEVER,
        );
        expectObservable(runDaemon(deps), '^ 150ms !').toBe('');
        testScheduler.flush();
        // The long-poll in flight at 100 gave way to one that excludes nothing.
        expect(polls).toEqual([
          [0, CLAUDE],
          [100, []],
        ]);
        expect(lines).toEqual([
          `claude hit a usage limit: taking no claude jobs until ${iso(100)} (in 1 s); jobs for other agent CLIs go on`,
          'claude: the usage-limit pause is over; taking claude jobs again',
        ]);
      });
    });

    it('should leave a job of the paused CLI queued when the descriptor names it, and poll again a while later', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const offered: JobDescriptor = { ...job('j1'), adapterType: 'claude_local' };
        const claimed: string[] = [];
        const { deps, polls } = setup(
          () => cold<NextJobOutcome>('-(a|)', { a: { kind: 'job', job: offered } }),
          (jobId) => (claimed.push(`${jobId}@${testScheduler.now()}`), cold<ClaimOutcome>('--(l|)', { l: { kind: 'job_ended' } })),
        );
        expectObservable(runDaemon(deps), '^ 102ms !').toBe('');
        testScheduler.flush();
        // Offered at 1, 32, 63 and 94, each time left queued and polled again 30 ms later; at 100 the pause ended, the
        // poll in flight gave way to a new one, and the job it offered was claimed.
        expect(polls.map(([at]) => at)).toEqual([0, 31, 62, 93, 100]);
        expect(claimed).toEqual(['j1@101']);
      });
    });

    it('should learn from a claim which CLI an agent needs, give back that job, and leave that agent’s next jobs queued (Part 1)', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        // A server without the extension: no adapterType in the descriptor; the exclusion is ignored.
        const offers = [job('j1'), job('j2')];
        let offer = 0;
        const claimed: string[] = [];
        const { deps, completions } = setup(
          () => cold<NextJobOutcome>('(a|)', { a: { kind: 'job', job: offers[Math.min(offer++, 1)]! } }),
          (jobId) => {
            claimed.push(`${jobId}@${testScheduler.now()}`);
            return cold<ClaimOutcome>('(c|)', { c: { kind: 'claimed', payload: payloadOf({ jobId, agentId: 'a' }) } });
          },
        );
        expectObservable(runDaemon(deps), '^ 99ms !').toBe('a', {
          a: expect.objectContaining({ jobId: 'j1', outcome: 'failed', agent: 'claude' }),
        });
        testScheduler.flush();
        // j1, of an agent not met before, was claimed and given back as a usage limit; j2, of the same agent, stays queued.
        expect(claimed).toEqual(['j1@0']);
        expect(completions).toEqual([
          [
            'j1',
            expect.objectContaining({
              status: 'failed',
              usageLimit: { resetsAt: iso(100) },
              errorMessage: expect.stringContaining('not started'),
            }),
          ],
        ]);
      });
    });

    it('should claim and give back at once a job whose pause outlasts its life on a Part-1 server (30 min from queueing)', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const claimed: string[] = [];
        const { deps, completions } = setup(
          () => cold<NextJobOutcome>('-(a|)', { a: { kind: 'job', job: { ...job('j1'), createdAt: iso(-31 * 60_000) } } }),
          (jobId) => (
            claimed.push(jobId), cold<ClaimOutcome>('-(c|)', { c: { kind: 'claimed', payload: payloadOf({ jobId, agentId: 'a' }) } })
          ),
        );
        // Offered at 1, claimed at 2, given back at once; the server here offers it again at 3 (a real one fails it).
        expectObservable(runDaemon(deps), '^ 3ms !').toBe('--a', {
          a: expect.objectContaining({ jobId: 'j1', outcome: 'failed', agent: 'claude' }),
        });
        testScheduler.flush();
        expect(claimed[0]).toBe('j1');
        expect(completions[0]).toEqual(['j1', expect.objectContaining({ usageLimit: { resetsAt: iso(100) } })]);
      });
    });
  });
});
