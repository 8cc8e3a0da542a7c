import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { alongside } from '../../src/operators/alongside.js';

/** @test {alongside} */
describe('alongside', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should mirror the source and unsubscribe the companion when the source completes', () => {
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = cold('  a--b----c|');
      const companion = hot('-x-x-x-x-x-x-x');
      const companionSubs = '^--------!';
      expectObservable(source.pipe(alongside(companion))).toBe('a--b----c|');
      expectSubscriptions(companion.subscriptions).toBe(companionSubs);
    });
  });

  it("should end with the companion's error", () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('   a--b----c|');
      const sourceSubs = '    ^----!';
      const companion = cold('-----#', undefined, new Error('heartbeat rejected'));
      expectObservable(source.pipe(alongside(companion))).toBe('a--b-#', undefined, new Error('heartbeat rejected'));
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should keep running when the companion completes first', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('   a--b----c|');
      const companion = cold('-|');
      expectObservable(source.pipe(alongside(companion))).toBe('a--b----c|');
    });
  });

  it('should subscribe to the source only once', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b|');
      expectObservable(source.pipe(alongside(cold('--x')))).toBe('a-b|');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});
