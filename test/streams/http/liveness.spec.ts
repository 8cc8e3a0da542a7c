import { NEVER, defer, merge, retry, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { AnswerTimeoutError } from '../../../src/streams/http/errors.js';
import { lively, type Liveness } from '../../../src/streams/http/liveness.js';
import { ServerHealth } from '../../../src/streams/http/server-health.js';

const ROUTE = 'POST jobs/j1/events';
const TIMINGS = { firstDeadlineMs: 100, perMiBMs: 0, probeEveryMs: 20, probeTimeoutMs: 30, maxWaitForPathMs: 1_000 };
const DEADLINES = { firstMs: 100, maxMs: 1_000 };

/**
 * The liveness rules in virtual time. The exchange and the probe are marbles: each subscription to the exchange is one
 * sending of the same bytes, each subscription to the probe one HEAD. The first deadline is 100 ms (so the probe goes
 * at 50 and has until 100), a dead path is probed every 20 ms, and each probe has 30 ms.
 */
describe('lively', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  /** What the spec saw: when each exchange and probe was sent, and what the health was told. */
  function setup(exchanges: (sent: number) => Observable<string>, probe: (now: number) => Observable<unknown>, deadlines = DEADLINES) {
    const seen = { exchanges: [] as number[], probes: [] as number[], down: [] as number[], back: [] as number[] };
    const health = new ServerHealth({
      onPathDown: () => seen.down.push(scheduler.now()),
      onPathBack: (downMs) => seen.back.push(downMs),
    });
    const liveness: Liveness = {
      timings: TIMINGS,
      probe: () =>
        defer(() => {
          seen.probes.push(scheduler.now());
          return probe(scheduler.now());
        }),
      health,
      scheduler,
    };
    const exchange$ = defer(() => {
      seen.exchanges.push(scheduler.now());
      return exchanges(seen.exchanges.length);
    });
    return { seen, health, request: () => lively(ROUTE, exchange$, deadlines, liveness) };
  }

  it('should pass an answer that comes before half the deadline, without probing', () => {
    scheduler.run(({ cold, expectObservable, flush }) => {
      const { seen, request } = setup(
        () => cold('30ms (a|)'),
        () => cold('1ms (p|)'),
      );
      expectObservable(request()).toBe('30ms (a|)');
      flush();
      expect(seen.probes).toEqual([]);
    });
  });

  it('should pass an answer that comes before the deadline, having probed at half of it', () => {
    scheduler.run(({ cold, expectObservable, flush }) => {
      const { seen, request } = setup(
        () => cold('70ms (a|)'),
        () => NEVER,
      );
      expectObservable(request()).toBe('70ms (a|)');
      flush();
      expect(seen.probes).toEqual([50]);
      expect(seen.down).toEqual([]);
    });
  });

  it("should fail at the deadline when the server answers probes (it is slow), and give the pipeline's next attempt twice the time", () => {
    scheduler.run(({ cold, expectObservable, flush }) => {
      const { seen, request } = setup(
        () => NEVER,
        () => cold('5ms (p|)'),
      );
      // Attempts of 100, 200 and 400 ms, subscribed again at once by the pipeline's retry.
      expectObservable(request().pipe(retry(2))).toBe('700ms #', undefined, new AnswerTimeoutError(ROUTE, 400));
      flush();
      expect(seen.exchanges).toEqual([0, 100, 300]);
      expect(seen.probes).toEqual([50, 200, 500]);
      expect(seen.down).toEqual([]);
    });
  });

  it('should not grow the deadline past the request timeout', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const { request } = setup(
        () => NEVER,
        () => cold('5ms (p|)'),
        { firstMs: 100, maxMs: 150 },
      );
      expectObservable(request().pipe(retry(2))).toBe('400ms #', undefined, new AnswerTimeoutError(ROUTE, 150));
    });
  });

  it('should wait for a path that answers nothing, then send the same bytes again at once, with no error for the pipeline', () => {
    scheduler.run(({ cold, expectObservable, flush }) => {
      // The path is back at 300: the probe sent then is answered at 305.
      const { seen, health, request } = setup(
        (sent) => (sent === 1 ? NEVER : cold('10ms (a|)')),
        (now) => (now >= 300 ? cold('5ms (p|)') : NEVER),
      );
      expectObservable(request()).toBe('315ms (a|)');
      flush();
      expect(seen.exchanges).toEqual([0, 305]);
      // The probe at half the deadline, then one every 20 ms from the deadline on.
      expect(seen.probes).toEqual([50, ...Array.from({ length: 11 }, (_, index) => 100 + 20 * index)]);
      expect(seen.down).toEqual([100]);
      expect(seen.back).toEqual([205]);
      expect(health.pathIsDown).toBe(false);
    });
  });

  it('should take a refused connection for a dead path when no probe is answered', () => {
    scheduler.run(({ cold, expectObservable, flush }) => {
      const { seen, request } = setup(
        (sent) => (sent === 1 ? cold('5ms #', undefined, new TypeError('fetch failed')) : cold('1ms (a|)')),
        (now) => (now >= 100 ? cold('(p|)') : NEVER),
      );
      // Refused at 5, a probe unanswered until 35, then one every 20 ms: the one at 115 is answered.
      expectObservable(request()).toBe('116ms (a|)');
      flush();
      expect(seen.exchanges).toEqual([0, 115]);
      expect(seen.down).toEqual([35]);
      expect(seen.back).toEqual([80]);
    });
  });

  it.each([
    // fetch fails so when the connection is refused or cut: a probe tells whether the path is there
    ['a refused connection, when the server answers a probe', new TypeError('fetch failed'), '7ms #', [5]],
    ['an error answer, without probing', new Error('server answered 400'), '5ms #', []],
  ])('should leave %s to the pipeline', (_what, error, expected, probes) => {
    scheduler.run(({ cold, expectObservable, flush }) => {
      const { seen, request } = setup(
        () => cold('5ms #', undefined, error),
        () => cold('2ms (p|)'),
      );
      expectObservable(request()).toBe(expected, undefined, error);
      flush();
      expect(seen.probes).toEqual(probes);
      expect(seen.down).toEqual([]);
    });
  });

  it('should give the wait up after maxWaitForPathMs, counted from the attempt, to the pipeline', () => {
    scheduler.run(({ expectObservable }) => {
      const { request } = setup(
        () => NEVER,
        () => NEVER,
      );
      expectObservable(request()).toBe('1000ms #', undefined, new AnswerTimeoutError(ROUTE, 1_000));
    });
  });

  it('should report one outage however many requests wait for the path, and its end once', () => {
    scheduler.run(({ cold, expectObservable, flush }) => {
      const { seen, request } = setup(
        (sent) => (sent <= 2 ? NEVER : cold('1ms (a|)')),
        (now) => (now >= 200 ? cold('(p|)') : NEVER),
      );
      expectObservable(merge(request(), request())).toBe('201ms (aa|)');
      flush();
      expect(seen.down).toEqual([100]);
      expect(seen.back).toEqual([100]);
    });
  });

  it('should stop sending and probing when unsubscribed', () => {
    scheduler.run(({ expectObservable, flush }) => {
      const { seen, request } = setup(
        () => NEVER,
        () => NEVER,
      );
      expectObservable(request(), '^ 249ms !').toBe('');
      flush();
      expect(seen.probes.every((at) => at < 250)).toBe(true);
      expect(seen.probes.at(-1)).toBe(240);
      expect(seen.exchanges).toEqual([0]);
    });
  });
});
