import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { heartbeat } from '../../src/runner/heartbeat.js';
import { ApiError, TokenRejectedError } from '../../src/streams/http/errors.js';
import type { HeartbeatOutcome } from '../../src/streams/http/runner-api.js';
import type { Observable } from 'rxjs';

const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
/** Answers by marble letter: `o`k, `c`ancelled (409), `g`one (404 job_not_found), `u`nsupported route (another 404). */
const answers: Record<string, HeartbeatOutcome> = {
  o: { kind: 'accepted' },
  c: { kind: 'job_ended' },
  g: { kind: 'job_gone' },
  u: { kind: 'route_missing' },
};

/** The heartbeat in virtual time, a beat every 10 ms; each beat is answered by the next Observable of `replies`. */
describe('heartbeat', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  function beating(replies: Observable<HeartbeatOutcome>[]) {
    const beats: number[] = [];
    const api = {
      heartbeat: (jobId: string) => {
        expect(jobId).toBe('j1');
        beats.push(testScheduler.now());
        const reply = replies[beats.length - 1];
        if (!reply) throw new Error(`beat ${beats.length} was not scripted`);
        return reply;
      },
    };
    return { beats, beat$: heartbeat('j1', { api, log: silentLog, scheduler: testScheduler, heartbeatMs: 10 }) };
  }

  it('should beat every heartbeatMs while the job runs', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const { beats, beat$ } = beating([cold('-(o|)', answers), cold('-(o|)', answers), cold('-(o|)', answers)]);
      expectObservable(beat$, '^ 35ms !').toBe('');
      flush();
      expect(beats).toEqual([10, 20, 30]);
    });
  });

  it.each([
    ['cancelled (409)', 'c'],
    ['gone (404 job_not_found)', 'g'],
  ])('should ask to stop the agent when the server answers that the job is %s, and beat no more', (_what, answer) => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const { beats, beat$ } = beating([cold('-(o|)', answers), cold(`-(${answer}|)`, answers)]);
      expectObservable(beat$).toBe('21ms (v|)', { v: 'server' });
      flush();
      expect(beats).toEqual([10, 20]);
    });
  });

  it('should beat no more for this job when the server lacks the route, without stopping the agent', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const { beats, beat$ } = beating([cold('-(u|)', answers)]);
      expectObservable(beat$).toBe('11ms |');
      flush();
      expect(beats).toEqual([10]);
    });
  });

  it('should try again at the next beat after a beat fails, and end with a rejected token', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const rejected = new TokenRejectedError('POST heartbeat', 'invalid_runner_token', undefined, '', undefined);
      const { beat$ } = beating([
        cold('-#', undefined, new ApiError(503, 'POST heartbeat', undefined, undefined, '')),
        cold('-(o|)', answers),
        cold('-#', undefined, rejected),
      ]);
      expectObservable(beat$).toBe('31ms #', undefined, rejected);
    });
  });

  it('should skip a beat while the one before it waits for its answer', () => {
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const { beats, beat$ } = beating([cold('15ms (o|)', answers), cold('-(c|)', answers)]);
      expectObservable(beat$).toBe('31ms (v|)', { v: 'server' });
      flush();
      // the beat due at 20 falls while the first one's answer is awaited (10 to 25): the next goes at 30
      expect(beats).toEqual([10, 30]);
    });
  });
});
