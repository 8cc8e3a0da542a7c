import { defer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { retryBackoff, type RetryInfo } from '../../src/operators/retryBackoff.js';

const unavailable = { status: 503 };
const unauthorized = { status: 401 };
// Unsubscribes long after every expectation, so a regression that retries forever fails instead of hanging.
const bound = '^ 300ms !';

/** A source that answers each subscription with the next observable of the list. */
function attempts<T>(...answers: Observable<T>[]): Observable<T> {
  let next = 0;
  return defer(() => answers[next++]!);
}

describe('retryBackoff operator', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should resubscribe after 1x, 2x, 4x the initial delay and forward the error of the last attempt', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('--#', undefined, unavailable);
      const subs = ['^-!', '12ms ^-!', '34ms ^-!', '76ms ^-!'];
      const expected = '78ms #';
      const result = e1.pipe(retryBackoff({ initialDelayMs: 10, maxAttempts: 4, random: () => 1 }));
      expectObservable(result, bound).toBe(expected, undefined, unavailable);
      expectSubscriptions(e1.subscriptions).toBe(subs);
    });
  });

  it('should cap each delay at maxDelayMs', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // delays 10, 20, then 25 (not 40), 25 (not 80)
      const e1 = cold('--#', undefined, unavailable);
      const subs = ['^-!', '12ms ^-!', '34ms ^-!', '61ms ^-!', '88ms ^-!'];
      const expected = '90ms #';
      const result = e1.pipe(retryBackoff({ initialDelayMs: 10, maxDelayMs: 25, maxAttempts: 5, random: () => 1 }));
      expectObservable(result, bound).toBe(expected, undefined, unavailable);
      expectSubscriptions(e1.subscriptions).toBe(subs);
    });
  });

  it('should scale each delay by random() (full jitter) and report it to onRetry', () => {
    const retries: RetryInfo[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // delays floor(0.5 × 10) = 5, floor(0.5 × 20) = 10, floor(0.5 × 40) = 20
      const e1 = cold('--#', undefined, unavailable);
      const subs = ['^-!', '7ms ^-!', '19ms ^-!', '41ms ^-!'];
      const expected = '43ms #';
      const result = e1.pipe(
        retryBackoff({ initialDelayMs: 10, maxAttempts: 4, random: () => 0.5, onRetry: (info) => retries.push(info) }),
      );
      expectObservable(result, bound).toBe(expected, undefined, unavailable);
      expectSubscriptions(e1.subscriptions).toBe(subs);
    });
    expect(retries).toEqual([
      { error: unavailable, attempt: 1, delayMs: 5 },
      { error: unavailable, attempt: 2, delayMs: 10 },
      { error: unavailable, attempt: 3, delayMs: 20 },
    ]);
  });

  it('should mirror the source once an attempt succeeds', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a1 = cold('--#', undefined, unavailable);
      const a2 = cold('  -a-b|');
      const expected = '13ms a-b|';
      const result = attempts(a1, a2).pipe(retryBackoff({ initialDelayMs: 10, random: () => 1 }));
      expectObservable(result, bound).toBe(expected);
      expectSubscriptions(a1.subscriptions).toBe('^-!');
      expectSubscriptions(a2.subscriptions).toBe('12ms ^---!');
    });
  });

  it('should not retry an error that shouldRetry rejects (by default a 4xx)', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('-a-#', undefined, unauthorized);
      const subs = '   ^--!';
      const expected = '-a-#';
      expectObservable(e1.pipe(retryBackoff({ random: () => 1 })), bound).toBe(expected, undefined, unauthorized);
      expectSubscriptions(e1.subscriptions).toBe(subs);
    });
  });

  it('should ask a custom shouldRetry about each error', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const retryable = new Error('flaky');
      const fatal = new Error('fatal');
      const a1 = cold('-#', undefined, retryable);
      const a2 = cold('-#', undefined, fatal);
      const shouldRetry = (error: unknown) => error === retryable;
      const result = attempts(a1, a2).pipe(retryBackoff({ initialDelayMs: 10, random: () => 1, shouldRetry }));
      expectObservable(result, bound).toBe('12ms #', undefined, fatal);
      expectSubscriptions(a1.subscriptions).toBe('^!');
      expectSubscriptions(a2.subscriptions).toBe('11ms ^!');
    });
  });

  it('should wait what delayFor asks of an error, and back off as usual when it asks nothing', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const busy = { status: 429, retryAfterMs: 50 };
      const a1 = cold('-#', undefined, busy);
      const a2 = cold('-#', undefined, unavailable);
      const a3 = cold('-#', undefined, busy);
      const a4 = cold('-(v|)');
      const waits: RetryInfo[] = [];
      const result = attempts(a1, a2, a3, a4).pipe(
        retryBackoff({
          initialDelayMs: 10,
          random: () => 1,
          delayFor: (error) => (error === busy ? busy.retryAfterMs : undefined),
          onRetry: (info) => waits.push(info),
        }),
      );
      // failures at 1, 52 and 73, then waits of 50 (asked), 20 (the second retry's backoff) and 50 (asked again)
      expectObservable(result, bound).toBe('124ms (v|)');
      expectSubscriptions(a1.subscriptions).toBe('^!');
      expectSubscriptions(a2.subscriptions).toBe('51ms ^!');
      expectSubscriptions(a3.subscriptions).toBe('72ms ^!');
      expectSubscriptions(a4.subscriptions).toBe('123ms ^!');
      scheduler.flush();
      expect(waits.map(({ attempt, delayMs }) => [attempt, delayMs])).toEqual([
        [1, 50],
        [2, 20],
        [3, 50],
      ]);
    });
  });

  it('should not retry at all with maxAttempts 1', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('--#', undefined, unavailable);
      expectObservable(e1.pipe(retryBackoff({ maxAttempts: 1 })), bound).toBe('--#', undefined, unavailable);
      expectSubscriptions(e1.subscriptions).toBe('^-!');
    });
  });

  it('should start again from the initial delay after the source emits a value', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a1 = cold('--#', undefined, unavailable);
      const a2 = cold('-a-#', undefined, unavailable);
      const a3 = cold('--#', undefined, unavailable);
      const a4 = cold('-b|');
      // retry 1 (10 ms) → a2 emits, then fails → retry 1 again (10 ms) → retry 2 (20 ms)
      const expected = '13ms a 34ms b|';
      const result = attempts(a1, a2, a3, a4).pipe(retryBackoff({ initialDelayMs: 10, maxAttempts: 3, random: () => 1 }));
      expectObservable(result, bound).toBe(expected);
      expectSubscriptions(a1.subscriptions).toBe('^-!');
      expectSubscriptions(a2.subscriptions).toBe('12ms ^--!');
      expectSubscriptions(a3.subscriptions).toBe('25ms ^-!');
      expectSubscriptions(a4.subscriptions).toBe('47ms ^-!');
    });
  });

  it('should keep counting across values with resetOnSuccess false', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a1 = cold('--#', undefined, unavailable);
      const a2 = cold('-a-#', undefined, unavailable);
      const a3 = cold('--#', undefined, unavailable);
      const a4 = cold('-b|');
      // retries 1, 2, 3: 10, 20, 40 ms
      const expected = '13ms a 64ms b|';
      const result = attempts(a1, a2, a3, a4).pipe(retryBackoff({ initialDelayMs: 10, resetOnSuccess: false, random: () => 1 }));
      expectObservable(result, bound).toBe(expected);
      expectSubscriptions(a1.subscriptions).toBe('^-!');
      expectSubscriptions(a2.subscriptions).toBe('12ms ^--!');
      expectSubscriptions(a3.subscriptions).toBe('35ms ^-!');
      expectSubscriptions(a4.subscriptions).toBe('77ms ^-!');
    });
  });

  it('should stop retrying when unsubscribed during a delay', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const e1 = cold('--#', undefined, unavailable);
      const unsub = '  ^ 20ms !';
      expectObservable(e1.pipe(retryBackoff({ initialDelayMs: 10, random: () => 1 })), unsub).toBe('');
      expectSubscriptions(e1.subscriptions).toBe(['^-!', '12ms ^-!']);
    });
  });

  it('should wait on the injected scheduler', () => {
    // Outside run() only the injected scheduler is virtual; each marble character is 10 ms.
    const e1 = scheduler.createColdObservable('-#', undefined, unavailable);
    const result = e1.pipe(retryBackoff({ initialDelayMs: 10, maxAttempts: 3, random: () => 1, scheduler }));
    scheduler.expectObservable(result, `^${'-'.repeat(30)}!`).toBe('------#', undefined, unavailable);
    scheduler.expectSubscriptions(e1.subscriptions).toBe(['^!', '--^!', '-----^!']);
    scheduler.flush();
  });
});
