import { delay, filter, map, merge, startWith, switchMap, take, takeUntil, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { feedback } from '../../src/operators/feedback.js';

/** @test {feedback} */
describe('feedback', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should hand the stream what it fed back, as it comes', () => {
    testScheduler.run(({ expectObservable }) => {
      // each number is the one before it, fed back, plus one
      const counter = feedback<number, number>(
        (fed$) => fed$.pipe(startWith(0), delay(1), take(3)),
        (output$) => output$.pipe(map((n) => n + 1)),
      );
      expectObservable(counter).toBe('-ab(c|)', { a: 0, b: 1, c: 2 });
    });
  });

  it('should stop a stage above when an answer further down says so, and still let that answer through', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const lines = hot('-a-b-c-d-e');
      const answers: Record<string, string> = { a: 'ok', b: 'ok', c: 'over', d: 'ok', e: 'ok' };
      const stopped = feedback<string, string>(
        (stop$) =>
          lines.pipe(
            takeUntil(stop$),
            map((line) => answers[line] ?? line),
          ),
        (output$) => output$.pipe(filter((answer) => answer === 'over')),
      );
      expectObservable(stopped).toBe('-o-o-(v|)', { o: 'ok', v: 'over' });
      expectSubscriptions(lines.subscriptions).toBe('^----!');
    });
  });

  it('should replay the latest value fed to a stage that subscribes later', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      // `a` is fed back at 1; a stage that subscribes at 5 learns of it at once
      const late = feedback<string, string>(
        (fed$) => merge(cold('-a'), timer(5).pipe(switchMap(() => fed$.pipe(map((value) => `late ${value}`))))).pipe(take(2)),
        (output$) => output$.pipe(filter((value) => value === 'a')),
      );
      expectObservable(late).toBe('-a---(l|)', { a: 'a', l: 'late a' });
    });
  });

  it("should end with the feed's error, and unsubscribe the feed when the output ends", () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = feedback<string, never>(
        () => cold('a-b-c|'),
        () => cold<never>('---#', undefined, new Error('heartbeat rejected')),
      );
      expectObservable(failing).toBe('a-b#', undefined, new Error('heartbeat rejected'));

      const quiet = cold<never>('-------');
      const done = feedback<string, never>(
        () => cold('a-b|'),
        () => quiet,
      );
      expectObservable(done).toBe('a-b|');
      expectSubscriptions(quiet.subscriptions).toBe('^--!');
    });
  });

  it('should build a loop of its own for each subscription', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const once = feedback<string, string>(
        (fed$) =>
          merge(
            cold('a|'),
            fed$.pipe(
              take(1),
              map(() => 'fed'),
            ),
          ).pipe(take(2)),
        (output$) => output$.pipe(filter((value) => value === 'a')),
      );
      expectObservable(once).toBe('(af|)', { a: 'a', f: 'fed' });
      expectObservable(once).toBe('(af|)', { a: 'a', f: 'fed' });
    });
  });
});
