import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { pausesByKey, type PauseSignal } from '../../src/operators/pausesByKey.js';

const pauses = (entries: [string, number][] = []): ReadonlyMap<string, number> => new Map(entries);
const limited = (key: string, until?: number): PauseSignal => ({ key, limited: true, ...(until !== undefined && { until }) });
const through = (key: string): PauseSignal => ({ key, limited: false });

describe('pausesByKey operator', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });
  const operator = () => pausesByKey({ initialPauseMs: 10, maxPauseMs: 40, scheduler });

  it('should pause a key until the end its limit gives, then let it go by itself', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const signals = hot('  -a------------------------', { a: limited('claude', 20) });
      const expected = '     ep 18ms e';
      expectObservable(signals.pipe(operator())).toBe(expected, { e: pauses(), p: pauses([['claude', 20]]) });
    });
  });

  it('should back off when the limit gives no end: 10, then 20, 40 and no more for limits in a row', () => {
    scheduler.run(({ hot, expectObservable }) => {
      // Limits at 1, 12, 33, 74 and 115: each right after the pause before it ended.
      const signals = hot('  -a 10ms b 20ms c 40ms d 40ms e', {
        a: limited('gemini'),
        b: limited('gemini'),
        c: limited('gemini'),
        d: limited('gemini'),
        e: limited('gemini'),
      });
      const expected = '     e1 9ms e2 19ms e3 39ms e4 39ms e5 39ms e';
      expectObservable(signals.pipe(operator()), '^ 200ms !').toBe(expected, {
        e: pauses(),
        1: pauses([['gemini', 11]]),
        2: pauses([['gemini', 32]]),
        3: pauses([['gemini', 73]]),
        4: pauses([['gemini', 114]]),
        5: pauses([['gemini', 155]]),
      });
    });
  });

  it('should say nothing for a key that gets through before any limit, and pause it at its first limit', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const signals = hot('  -a-b-c', { a: through('claude'), b: through('claude'), c: limited('claude') });
      const expected = '     e----1 9ms e';
      expectObservable(signals.pipe(operator())).toBe(expected, { e: pauses(), 1: pauses([['claude', 15]]) });
    });
  });

  it('should start the backoff again once the key got through', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const signals = hot('  -a 10ms b 20ms c-d', { a: limited('pi'), b: limited('pi'), c: through('pi'), d: limited('pi') });
      const expected = '     e1 9ms e2 19ms e--3 9ms e';
      expectObservable(signals.pipe(operator())).toBe(expected, {
        e: pauses(),
        1: pauses([['pi', 11]]),
        2: pauses([['pi', 32]]),
        3: pauses([['pi', 45]]),
      });
    });
  });

  it('should keep the later end when a key hits a limit again while paused, and say nothing when that changes nothing', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const signals = hot('  -a--b--c--d', {
        a: limited('claude', 20),
        b: limited('claude', 30),
        c: limited('claude', 25),
        d: through('claude'),
      });
      const expected = '     ep--q 25ms e';
      expectObservable(signals.pipe(operator()), '^ 40ms !').toBe(expected, {
        e: pauses(),
        p: pauses([['claude', 20]]),
        q: pauses([['claude', 30]]),
      });
    });
  });

  it('should back off when the end the limit gives is already past', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const signals = hot('  -----a', { a: limited('codex', 2) });
      const expected = '     e----p 9ms e';
      expectObservable(signals.pipe(operator())).toBe(expected, { e: pauses(), p: pauses([['codex', 15]]) });
    });
  });

  it('should pause each key on its own', () => {
    scheduler.run(({ hot, expectObservable }) => {
      const signals = hot('  -a---b', { a: limited('claude', 10), b: limited('codex', 30) });
      const expected = '     ec---b----d 19ms e';
      expectObservable(signals.pipe(operator())).toBe(expected, {
        e: pauses(),
        c: pauses([['claude', 10]]),
        b: pauses([
          ['claude', 10],
          ['codex', 30],
        ]),
        d: pauses([['codex', 30]]),
      });
    });
  });

  it('should complete with its source, dropping the pauses in force, and forward its error', () => {
    scheduler.run(({ hot, expectObservable }) => {
      expectObservable(hot('-a--|', { a: limited('claude', 20) }).pipe(operator())).toBe('ep--|', {
        e: pauses(),
        p: pauses([['claude', 20]]),
      });
      expectObservable(hot<PauseSignal>('--#').pipe(operator())).toBe('e-#', { e: pauses() });
    });
  });
});
