import { defer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { poll } from '../../src/operators/poll.js';

// 'e' is an empty answer (a 204), 'j' and 'k' are jobs.
const isEmpty = (value: string) => value === 'e';
const unavailable = { status: 503 };
const unauthorized = { status: 401 };
const backoff = { initialDelayMs: 10 };

/** A request that answers each call with the next observable of the list. */
function answers<T>(...list: Observable<T>[]): () => Observable<T> {
  let next = 0;
  return () => defer(() => list[next++]!);
}

describe('poll', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should poll again as soon as a request completes, swallow empty answers and emit jobs', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const r1 = cold('--(e|)');
      const r2 = cold('  --(j|)');
      const r3 = cold('    ---(e|)');
      const r4 = cold('       -');
      const unsub = '  ^ 20ms !';
      const expected = '----j';
      expectObservable(poll(answers(r1, r2, r3, r4), { isEmpty, backoff, random: () => 1 }), unsub).toBe(expected);
      expectSubscriptions(r1.subscriptions).toBe('^-!');
      expectSubscriptions(r2.subscriptions).toBe('--^-!');
      expectSubscriptions(r3.subscriptions).toBe('----^--!');
      expectSubscriptions(r4.subscriptions).toBe('-------^ 13ms !');
    });
  });

  it('should emit every job value of an answer', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const r1 = cold('--j-e-k|');
      const r2 = cold('       -');
      expectObservable(poll(answers(r1, r2), { isEmpty }), '^ 20ms !').toBe('--j---k');
    });
  });

  it('should back off 1x, 2x, 4x the initial delay while requests fail', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const request = cold('-#', undefined, unavailable);
      const unsub = '       ^ 100ms !';
      const subs = ['^!', '11ms ^!', '32ms ^!', '73ms ^!'];
      expectObservable(
        poll(() => request, { isEmpty, backoff, random: () => 1 }),
        unsub,
      ).toBe('');
      expectSubscriptions(request.subscriptions).toBe(subs);
    });
  });

  it('should reset the backoff after any completed request, even one without a value', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const r1 = cold('-#', undefined, unavailable);
      const r2 = cold('-#', undefined, unavailable);
      const r3 = cold('-|');
      const r4 = cold('-#', undefined, unavailable);
      const r5 = cold('-');
      const request = answers(r1, r2, r3, r4, r5);
      expectObservable(poll(request, { isEmpty, backoff, random: () => 1 }), '^ 60ms !').toBe('');
      expectSubscriptions(r1.subscriptions).toBe('^!');
      expectSubscriptions(r2.subscriptions).toBe('11ms ^!'); // after 10 ms
      expectSubscriptions(r3.subscriptions).toBe('32ms ^!'); // after 20 ms
      expectSubscriptions(r4.subscriptions).toBe('33ms ^!'); // at once: r3 completed
      expectSubscriptions(r5.subscriptions).toBe('44ms ^ 16ms !'); // after 10 ms again, not 40
    });
  });

  it("should wait what backoff.delayFor asks of an error (a server's Retry-After) before polling again", () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const busy = { status: 429, retryAfterMs: 30 };
      const r1 = cold('-#', undefined, busy);
      const r2 = cold('-(j|)');
      const r3 = cold('-');
      const delayFor = (error: unknown) => (error === busy ? busy.retryAfterMs : undefined);
      const options = { isEmpty, backoff: { ...backoff, delayFor }, random: () => 1 };
      expectObservable(poll(answers(r1, r2, r3), options), '^ 60ms !').toBe('32ms j');
      expectSubscriptions(r1.subscriptions).toBe('^!');
      expectSubscriptions(r2.subscriptions).toBe('31ms ^!');
      expectSubscriptions(r3.subscriptions).toBe('32ms ^ 28ms !');
    });
  });

  it('should end the stream with an error that is not retryable', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const r1 = cold('--(e|)');
      const r2 = cold('  --#', undefined, unauthorized);
      const expected = '----#';
      expectObservable(poll(answers(r1, r2), { isEmpty, backoff, random: () => 1 }), '^ 100ms !').toBe(expected, undefined, unauthorized);
      expectSubscriptions(r2.subscriptions).toBe('--^-!');
    });
  });

  it('should end the stream when backoff.maxAttempts consecutive requests fail', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const request = cold('-#', undefined, unavailable);
      const options = { isEmpty, backoff: { ...backoff, maxAttempts: 3 }, random: () => 1 };
      expectObservable(
        poll(() => request, options),
        '^ 300ms !',
      ).toBe('33ms #', undefined, unavailable);
      expectSubscriptions(request.subscriptions).toBe(['^!', '11ms ^!', '32ms ^!']);
    });
  });

  it('should not start requests more often than every minIntervalMs when answers come at once', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const request = cold('-(e|)');
      const subs = ['^!', '10ms ^!', '20ms ^!', '30ms ^!'];
      expectObservable(
        poll(() => request, { isEmpty, minIntervalMs: 10 }),
        '^ 35ms !',
      ).toBe('');
      expectSubscriptions(request.subscriptions).toBe(subs);
    });
  });

  it('should apply the minIntervalMs guard to retries that back off by 0 ms', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const request = cold('-#', undefined, unavailable);
      const subs = ['^!', '10ms ^!', '20ms ^!', '30ms ^!'];
      expectObservable(
        poll(() => request, { isEmpty, minIntervalMs: 10, random: () => 0 }),
        '^ 35ms !',
      ).toBe('');
      expectSubscriptions(request.subscriptions).toBe(subs);
    });
  });

  it('should not delay a request when the previous one took longer than minIntervalMs', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const request = cold('30ms (e|)');
      const subs = ['^ 29ms !', '30ms ^ 29ms !', '60ms ^ 14ms !'];
      expectObservable(
        poll(() => request, { isEmpty, minIntervalMs: 10 }),
        '^ 74ms !',
      ).toBe('');
      expectSubscriptions(request.subscriptions).toBe(subs);
    });
  });

  // Outside run() only the injected scheduler is virtual: asyncScheduler would wait in real time.
  // There each marble character is 10 ms.
  it('should wait for minIntervalMs on the injected scheduler', () => {
    const request = scheduler.createColdObservable('-(e|)');
    const subs = ['^!', '---^!', '------^!', '---------^!'];
    scheduler
      .expectObservable(
        poll(() => request, { isEmpty, minIntervalMs: 30, scheduler }),
        '^---------!',
      )
      .toBe('');
    scheduler.expectSubscriptions(request.subscriptions).toBe(subs);
    scheduler.flush();
  });

  it('should back off on the injected scheduler', () => {
    const request = scheduler.createColdObservable('-#', undefined, unavailable);
    const options = { isEmpty, backoff: { ...backoff, maxAttempts: 3 }, random: () => 1, scheduler };
    scheduler
      .expectObservable(
        poll(() => request, options),
        `^${'-'.repeat(30)}!`,
      )
      .toBe('------#', undefined, unavailable);
    scheduler.expectSubscriptions(request.subscriptions).toBe(['^!', '--^!', '-----^!']);
    scheduler.flush();
  });
});
