import { range } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { batch } from '../../src/operators/batch.js';

describe('batch operator', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should emit the values of one window as one batch and flush the rest at completion', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const lines = cold('a b c 50ms d|');
      const subs = '      ^ 53ms !';
      const expected = '  50ms x 3ms (y|)';
      expectObservable(lines.pipe(batch({ windowMs: 50, max: 32 }))).toBe(expected, { x: ['a', 'b', 'c'], y: ['d'] });
      expectSubscriptions(lines.subscriptions).toBe(subs);
    });
  });

  it('should emit batches of at most max values, at once, and start a new window after a full batch', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('abcdefg 100ms |');
      const expected = '--x--y 49ms z 51ms |';
      expectObservable(e1.pipe(batch({ windowMs: 50, max: 3 }))).toBe(expected, {
        x: ['a', 'b', 'c'],
        y: ['d', 'e', 'f'],
        z: ['g'],
      });
    });
  });

  it('should emit batches of at most 32 by default', () => {
    scheduler.run(({ expectObservable }) => {
      const values = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
      const expected = '(xyz|)';
      expectObservable(range(0, 70).pipe(batch())).toBe(expected, {
        x: values(0, 32),
        y: values(32, 64),
        z: values(64, 70),
      });
    });
  });

  it('should never emit an empty batch, however long the source is idle', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('a 200ms b 200ms |');
      const expected = '50ms x 199ms y 151ms |';
      expectObservable(e1.pipe(batch({ windowMs: 50 }))).toBe(expected, { x: ['a'], y: ['b'] });
    });
  });

  it('should complete without a batch when the source completes empty', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('120ms |').pipe(batch())).toBe('120ms |');
    });
  });

  it('should forward an error and drop the partial batch', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('a 10ms #', undefined, new Error('EPIPE'));
      const expected = '11ms #';
      expectObservable(e1.pipe(batch())).toBe(expected, undefined, new Error('EPIPE'));
    });
  });

  it('should drop the partial batch when unsubscribed', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('a 60ms b 100ms |');
      const unsub = '  ^ 70ms !';
      const expected = '50ms x';
      expectObservable(e1.pipe(batch()), unsub).toBe(expected, { x: ['a'] });
    });
  });

  it('should close its windows on the injected scheduler', () => {
    // Outside run() only the injected scheduler is virtual; each marble character is 10 ms.
    const e1 = scheduler.createColdObservable('a-b-------|');
    const expected = '---x------|';
    scheduler.expectObservable(e1.pipe(batch({ windowMs: 30, scheduler }))).toBe(expected, { x: ['a', 'b'] });
    scheduler.flush();
  });
});
