import { NEVER } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Delivery } from '../../src/runner/delivery.js';
import { MAX_TIMEOUT_SEC, serverStops, stopMessage, stopRequests, type StopReason } from '../../src/runner/stops.js';

/** Answers to requests of batches, by marble letter: `o`k, `t`he job ended (409), `g`one (403/404), `s`et aside (a 400). */
const deliveries: Record<string, Delivery> = {
  o: { outcome: { kind: 'accepted' }, accepted: 3 },
  t: { outcome: { kind: 'job_ended' }, accepted: 0 },
  g: { outcome: { kind: 'job_gone' }, accepted: 0 },
  s: { outcome: { kind: 'set_aside', batch: { index: 0, events: 1, why: 'refused', status: 400 } }, accepted: 0 },
};
const reasons: Record<string, StopReason> = { v: 'server', t: 'timeout', x: 'shutdown' };

describe('serverStops: where a 409 stops the agent', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  const recordingLog = () => {
    const warnings: string[] = [];
    return { warnings, log: { debug: () => {}, info: () => {}, error: () => {}, warn: (message: string) => warnings.push(message) } };
  };

  it('should stop the agent at an answer that the job is over (409) or no longer this runner’s (403/404), and say which', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const { log, warnings } = recordingLog();
      const answers = cold('o-s-t--g', deliveries);
      expectObservable(serverStops(answers, NEVER, log, 'j1')).toBe('----v--v', reasons);
      flush();
      expect(warnings).toEqual(['job ended on the server; stopping the agent', 'job no longer belongs to this runner; stopping the agent']);
    });
  });

  it("should pass on the heartbeat's stops as they come", () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { log } = recordingLog();
      expectObservable(serverStops(cold('o-o-o|', deliveries), cold('---v|', reasons), log, 'j1')).toBe('---v-|', reasons);
    });
  });
});

describe('stopRequests', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should ask for a stop at the deadline, at the second signal and at the server’s word, whichever comes', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const stops = stopRequests({ deadline: 50, cancel$: hot('--c'), serverStop$: hot('----v', reasons), scheduler: testScheduler });
      expectObservable(stops).toBe('--x-v 45ms t', reasons);
    });
  });
});

describe('stopMessage', () => {
  it('should name both knobs of a timeout and their ceiling', () => {
    expect(stopMessage('timeout', 60)).toBe(
      `timed out after 60 s; the agent was stopped (raise runtimeConfig.timeoutSec or --timeout-sec, at most ${MAX_TIMEOUT_SEC})`,
    );
  });
});
