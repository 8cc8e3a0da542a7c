import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { RunnerMetrics } from '../../src/runner/metrics.js';
import {
  PART1_JOB_LIFE_MS,
  describeWait,
  excludedAdapterTypes,
  leavesQueued,
  pauseSignalOf,
  usagePauses,
  type LimitedResult,
} from '../../src/runner/usage-limits.js';
import type { RecordedPause } from '../../src/streams/pause-file.js';

const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

describe('usage limits, as the daemon reads them', () => {
  it('should read a wait as a person would, never shorter than it is', () => {
    expect([0, 999, 45_000, 60_001, 12 * 60_000, 3 * 3600_000 + 12 * 60_000, 5 * 3600_000, 52 * 3600_000].map(describeWait)).toEqual([
      '0 s',
      '1 s',
      '45 s',
      '2 min',
      '12 min',
      '3 h 12 min',
      '5 h',
      '2 d 4 h',
    ]);
  });

  it('should hear a limit or a completion of a job whose CLI is known, and nothing else', () => {
    expect(pauseSignalOf({ outcome: 'failed', agent: 'claude', usageLimit: { resetsAt: 5 } })).toEqual({
      key: 'claude',
      limited: true,
      until: 5,
    });
    expect(pauseSignalOf({ outcome: 'completed', agent: 'codex' })).toEqual({ key: 'codex', limited: false });
    expect(pauseSignalOf({ outcome: 'failed', agent: 'codex' })).toBeUndefined();
    expect(pauseSignalOf({ outcome: 'cancelled', agent: 'codex' })).toBeUndefined();
    expect(pauseSignalOf({ outcome: 'lost' })).toBeUndefined();
  });

  it('should exclude every adapter type of a paused CLI', () => {
    expect(excludedAdapterTypes(new Map([['claude', 1]]))).toEqual(['claude_local', 'byo_runner']);
    expect(
      excludedAdapterTypes(
        new Map([
          ['gemini', 1],
          ['codex', 2],
        ]),
      ),
    ).toEqual(['codex_local', 'gemini_local']);
    expect(excludedAdapterTypes(new Map())).toEqual([]);
  });

  it('should leave queued the jobs of a paused CLI, known from the descriptor or from an earlier claim of the agent', () => {
    const pauses = new Map([['claude', Date.UTC(2026, 11, 7, 15)]]);
    const known = (agentId: string) => (agentId === 'sarah' ? 'claude' : undefined);
    const queuedAt = new Date(Date.UTC(2026, 11, 7, 14, 45)).toISOString();
    expect(leavesQueued({ jobId: 'j', adapterType: 'claude_local' }, pauses, known)).toBe(true);
    expect(leavesQueued({ jobId: 'j', adapterType: 'byo_runner', createdAt: '2020-01-01T00:00:00Z' }, pauses, known)).toBe(true);
    expect(leavesQueued({ jobId: 'j', adapterType: 'codex_local', agentId: 'sarah' }, pauses, known)).toBe(false);
    expect(leavesQueued({ jobId: 'j', agentId: 'sarah', createdAt: queuedAt }, pauses, known)).toBe(true);
    expect(leavesQueued({ jobId: 'j', agentId: 'someone new', createdAt: queuedAt }, pauses, known)).toBe(false);
    // Part 1: a job that the server drops before the pause ends is claimed, to be given back with the reason.
    const early = new Date(Date.UTC(2026, 11, 7, 15) - PART1_JOB_LIFE_MS - 1).toISOString();
    expect(leavesQueued({ jobId: 'j', agentId: 'sarah', createdAt: early }, pauses, known)).toBe(false);
  });

  describe('usagePauses', () => {
    let scheduler: TestScheduler;
    beforeEach(() => {
      scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    });

    it('should record each change of the pauses, with when and why each began, count the limits, and go on with restored pauses', () => {
      scheduler.run(({ hot, expectObservable }) => {
        const results = hot<LimitedResult>('----a', {
          a: { outcome: 'failed', agent: 'gemini', usageLimit: {}, errorMessage: 'usage limit reached (…): quota' },
        });
        const recorded: Record<string, RecordedPause>[] = [];
        const metrics = new RunnerMetrics(() => 0);
        const restored = {
          claude: { until: new Date(10).toISOString(), since: '2026-01-01T00:00:00.000Z', reason: 'before' },
          codex: { until: new Date(0).toISOString(), since: '2026-01-01T00:00:00.000Z', reason: 'over' },
        };
        const pauses$ = usagePauses(
          results,
          { initialPauseMs: 20, restored, record: (pauses) => recorded.push(pauses) },
          { log: silentLog, metrics, scheduler },
        );
        // At the start, no pause, then the restored one (the ended codex pause is not restored).
        expectObservable(pauses$, '^ 30ms !').toBe('(ea)b 5ms c 13ms d', {
          e: new Map(),
          a: new Map([['claude', 10]]),
          b: new Map([
            ['claude', 10],
            ['gemini', 24],
          ]),
          c: new Map([['gemini', 24]]),
          d: new Map(),
        });
        scheduler.flush();
        expect(recorded.at(2)).toEqual({
          claude: { until: new Date(10).toISOString(), since: '2026-01-01T00:00:00.000Z', reason: 'before' },
          gemini: { until: new Date(24).toISOString(), since: new Date(4).toISOString(), reason: 'usage limit reached (…): quota' },
        });
        expect(recorded.at(-1)).toEqual({});
        expect(metrics.render()).toContain('founderos_runner_usage_limits_total{agent="gemini"} 1');
      });
    });

    it('should pause no longer than the longest pause, whatever reset is stated, and keep only the start of a long reason', () => {
      scheduler.run(({ hot, expectObservable }) => {
        const results = hot<LimitedResult>('-a', {
          a: { outcome: 'failed', agent: 'claude', usageLimit: { resetsAt: 30 * 86_400_000 }, errorMessage: `limit ${'x'.repeat(1000)}` },
        });
        const recorded: Record<string, RecordedPause>[] = [];
        const pauses$ = usagePauses(
          results,
          { longestPauseMs: 50, record: (pauses) => recorded.push(pauses) },
          { log: silentLog, scheduler },
        );
        expectObservable(pauses$, '^ 60ms !').toBe('ea 49ms e', { e: new Map(), a: new Map([['claude', 51]]) });
        scheduler.flush();
        expect(recorded[1]!.claude!.reason).toHaveLength(500);
      });
    });
  });
});
