import { of, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { coalesceWhileBusy } from '../../src/operators/coalesceWhileBusy.js';

/** @test {coalesceWhileBusy} */
describe('coalesceWhileBusy', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  /** A call that takes three frames and then emits the group, joined. */
  const slowCall = (cold: TestScheduler['createColdObservable']) => (group: string[]) => cold('---(x|)', { x: group.join('') });

  it('should send a value that finds nothing running at once, alone, and gather the rest while a call runs', () => {
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('a-bc-----d---|');
      const sourceSubs = '^------------!';
      //                  a goes at 0 and is done at 3; b, c wait and go together at 3, done at 6; d finds nothing running
      const expected = '  ---x--y-----z|';
      expectObservable(source.pipe(coalesceWhileBusy(slowCall(cold)))).toBe(expected, { x: 'a', y: 'bc', z: 'd' });
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('should keep order and never put more in a group than fits, leaving the rest for the next call', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('a(bcdef)----------|');
      const fits = (group: readonly string[]) => group.length < 2;
      const expected = '  ---x--y--z--w-----|';
      expectObservable(source.pipe(coalesceWhileBusy(slowCall(cold), { fits }))).toBe(expected, {
        x: 'a',
        y: 'bc',
        z: 'de',
        w: 'f',
      });
    });
  });

  it('should ask fits about each waiting value in turn, with the group taken so far', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      // A budget of 4 in all: 3 and 2 do not fit together, so 2 waits for the next call and takes both 1s with it.
      const source = hot('1(3211)-------|', { 1: 1, 2: 2, 3: 3 });
      const fits = (group: readonly number[], next: number) => group.reduce((sum, value) => sum + value, next) <= 4;
      const call = (group: number[]) => cold('---(x|)', { x: group });
      expectObservable(source.pipe(coalesceWhileBusy(call, { fits }))).toBe('---x--y--z----|', {
        x: [1],
        y: [3],
        z: [2, 1, 1],
      });
    });
  });

  it('should let a value bigger than the budget go in a group of its own', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('a(bc)-----|', { a: 9, b: 9, c: 1 });
      const fits = (group: readonly number[], next: number) => group.reduce((sum, value) => sum + value, next) <= 4;
      const call = (group: number[]) => cold('---(x|)', { x: group });
      expectObservable(source.pipe(coalesceWhileBusy(call, { fits }))).toBe('---x--y--z|', { x: [9], y: [9], z: [1] });
    });
  });

  it('should complete only after the last group was handed over and its call completed', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('ab|');
      expectObservable(source.pipe(coalesceWhileBusy(slowCall(cold)))).toBe('---x--(y|)', { x: 'a', y: 'b' });
    });
  });

  it('should take a backlog of calls that complete at once without growing the stack', () => {
    testScheduler.run(({ expectObservable }) => {
      const values = Array.from({ length: 100_000 }, (_, index) => index);
      const oneAtATime = () => false;
      const counted = of(...values).pipe(coalesceWhileBusy((group) => of(group.length), { fits: oneAtATime }));
      let calls = 0;
      counted.subscribe(() => calls++);
      expect(calls).toBe(values.length);
      expectObservable(of(1, 2, 3).pipe(coalesceWhileBusy((group) => of(group)))).toBe('(xyz|)', { x: [1], y: [2], z: [3] });
    });
  });

  it("should end with a call's error and unsubscribe the source", () => {
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const source = hot('ab-----c|');
      const sourceSubs = '^--!';
      const failing = (group: string[]) => (group[0] === 'a' ? cold('---#', undefined, new Error('refused')) : of(group.join('')));
      expectObservable(source.pipe(coalesceWhileBusy(failing))).toBe('---#', undefined, new Error('refused'));
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it("should end at once with the source's error, dropping what waits", () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('ab#');
      expectObservable(source.pipe(coalesceWhileBusy(slowCall(cold)))).toBe('--#');
    });
  });

  it('should unsubscribe the running call when unsubscribed', () => {
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const call = cold('-----(x|)');
      const source = hot('a---b--');
      expectObservable(source.pipe(coalesceWhileBusy(() => call)), '^--!').toBe('---');
      expectSubscriptions(call.subscriptions).toBe('^--!');
    });
  });

  it('should go on after a call that emits nothing', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const source = hot('ab----c|');
      const call = (group: string[]) => (group[0] === 'a' ? cold('--|') : of(group.join('')));
      expectObservable(source.pipe(coalesceWhileBusy(call))).toBe('--x---y|', { x: 'b', y: 'c' });
    });
  });

  it('should end with the error of a project that throws, or returns an error', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const throwing = () => {
        throw new Error('no');
      };
      expectObservable(hot('a|').pipe(coalesceWhileBusy(throwing))).toBe('#', undefined, new Error('no'));
      expectObservable(hot('a|').pipe(coalesceWhileBusy(() => throwError(() => new Error('no'))))).toBe('#', undefined, new Error('no'));
    });
  });
});
