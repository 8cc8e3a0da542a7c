import { Observable, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { activeWhile } from '../../src/operators/activeWhile.js';
import { poll } from '../../src/operators/poll.js';

const gate = { t: true, f: false };

describe('activeWhile operator', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should subscribe while open$ is true, unsubscribe when it turns false and resubscribe when it turns true', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const open$ = hot('  --t-----f---t-----|', gate);
      const e1 = cold('      -a-b-c-d-e-');
      const expected = '   ---a-b-c-----a-b-c|';
      const e1subs = ['    --^-----!', '------------^-----!'];
      const opensubs = '   ^-----------------!';
      expectObservable(e1.pipe(activeWhile(open$))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
      expectSubscriptions(open$.subscriptions).toBe(opensubs);
    });
  });

  it('should stay closed until open$ emits true', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const open$ = hot('  f---t---', gate);
      const e1 = cold('        a-b-');
      const expected = '   ----a-b-';
      expectObservable(e1.pipe(activeWhile(open$)), '^ 8ms !').toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe('----^----!');
    });
  });

  it('should ignore repeated equal values of open$', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const open$ = hot('  --t--t--t--f--f--t-', gate);
      const e1 = cold('      -a-b-c-d-');
      const expected = '   ---a-b-c-d--------a-b-c-d';
      const e1subs = ['    --^--------!', '-----------------^'];
      expectObservable(e1.pipe(activeWhile(open$))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should complete when the source completes while open', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const open$ = hot('  -t-------', gate);
      const e1 = cold('     --a|');
      const expected = '   ---a|';
      expectObservable(e1.pipe(activeWhile(open$))).toBe(expected);
      expectSubscriptions(open$.subscriptions).toBe('^---!');
    });
  });

  it('should complete when open$ completes while closed', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const open$ = hot('  -t---f-|', gate);
      const e1 = cold('     -a-a-a-a-');
      const expected = '   --a-a--|';
      expectObservable(e1.pipe(activeWhile(open$))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe('-^---!');
    });
  });

  it('should complete at once when open$ completes while open, unsubscribing from the source', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const open$ = hot('  -t----|', gate);
      const e1 = cold('     -a-a-a-a-');
      const expected = '   --a-a-|';
      expectObservable(e1.pipe(activeWhile(open$))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe('-^----!');
    });
  });

  it('should forward an error of the source', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const open$ = hot('  -t------', gate);
      const e1 = cold('     -a-#');
      const expected = '   --a-#';
      expectObservable(e1.pipe(activeWhile(open$))).toBe(expected);
      expectSubscriptions(open$.subscriptions).toBe('^---!');
    });
  });

  it('should forward an error of open$ and unsubscribe from the source', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const open$ = hot('  -t---#', gate);
      const e1 = cold('     -a-a-a-');
      const expected = '   --a-a#';
      expectObservable(e1.pipe(activeWhile(open$))).toBe(expected);
      expectSubscriptions(e1.subscriptions).toBe('-^---!');
    });
  });

  it('should cancel a long-poll in flight when closed and poll afresh when opened again', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const request = cold('20ms (j|)');
      const open$ = hot('   t 9ms f 9ms t 29ms f', gate);
      const expected = '    40ms j';
      const jobs$ = poll(() => request, { isEmpty: () => false });
      expectObservable(jobs$.pipe(activeWhile(open$))).toBe(expected);
      // closed at 10 while the request waits; opened at 20, answered at 40, closed at 50
      expectSubscriptions(request.subscriptions).toBe(['^ 9ms !', '20ms ^ 19ms !', '40ms ^ 9ms !']);
    });
  });

  it('should not resubscribe after completing when open$ emits synchronously', () => {
    const values: number[] = [];
    let subscriptions = 0;
    const source = new Observable<number>((subscriber) => {
      subscriptions++;
      subscriber.next(1);
      subscriber.complete();
    });
    let completed = false;
    source.pipe(activeWhile(of(true, false, true))).subscribe({
      next: (value) => values.push(value),
      complete: () => (completed = true),
    });
    expect({ values, subscriptions, completed }).toEqual({ values: [1], subscriptions: 1, completed: true });
  });
});
