import { map, of, repeat } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventStamps, sequenceEvents } from '../../src/operators/sequenceEvents.js';

interface LineEvent {
  kind: string;
  payload?: unknown;
}

const stdout = (payload: string): LineEvent => ({ kind: 'stdout', payload });

/** Deterministic ids: id-1, id-2, … */
function counter(): () => string {
  let n = 0;
  return () => `id-${++n}`;
}

describe('sequenceEvents operator', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should stamp each event with a fresh id, the current time and a sequence number from 0', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('a 9ms b 990ms c|', { a: stdout('one'), b: stdout('two'), c: { kind: 'exit' } });
      const expected = 'x 9ms y 990ms z|';
      expectObservable(e1.pipe(sequenceEvents({ newId: counter() }))).toBe(expected, {
        x: { kind: 'stdout', payload: 'one', eventId: 'id-1', ts: '1970-01-01T00:00:00.000Z', seq: 0 },
        y: { kind: 'stdout', payload: 'two', eventId: 'id-2', ts: '1970-01-01T00:00:00.010Z', seq: 1 },
        z: { kind: 'exit', eventId: 'id-3', ts: '1970-01-01T00:00:01.001Z', seq: 2 },
      });
    });
  });

  it('should restart seq at 0 on resubscription, with fresh ids', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('a-b|', { a: stdout('a'), b: stdout('b') });
      const expected = 'w-xy-z|'; // repeat resubscribes in the frame the first run completes
      const result = e1.pipe(sequenceEvents({ newId: counter() }), repeat(2));
      expectObservable(result).toBe(expected, {
        w: { ...stdout('a'), eventId: 'id-1', ts: '1970-01-01T00:00:00.000Z', seq: 0 },
        x: { ...stdout('b'), eventId: 'id-2', ts: '1970-01-01T00:00:00.002Z', seq: 1 },
        y: { ...stdout('a'), eventId: 'id-3', ts: '1970-01-01T00:00:00.003Z', seq: 0 },
        z: { ...stdout('b'), eventId: 'id-4', ts: '1970-01-01T00:00:00.005Z', seq: 1 },
      });
    });
  });

  it('should count seq from firstSeq, on every subscription, to carry on a sequence an earlier run began', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const e1 = cold('a-b|', { a: stdout('a'), b: stdout('b') });
      const expected = 'w-xy-z|';
      const result = e1.pipe(sequenceEvents({ newId: counter(), firstSeq: 1040 }), repeat(2));
      expectObservable(result).toBe(expected, {
        w: { ...stdout('a'), eventId: 'id-1', ts: '1970-01-01T00:00:00.000Z', seq: 1040 },
        x: { ...stdout('b'), eventId: 'id-2', ts: '1970-01-01T00:00:00.002Z', seq: 1041 },
        y: { ...stdout('a'), eventId: 'id-3', ts: '1970-01-01T00:00:00.003Z', seq: 1040 },
        z: { ...stdout('b'), eventId: 'id-4', ts: '1970-01-01T00:00:00.005Z', seq: 1041 },
      });
    });
  });

  it('should replace stamps that the event already carries', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const stale = { kind: 'stdout', eventId: 'old', seq: 41, ts: 'yesterday' };
      const expected = '-x|';
      expectObservable(cold('-a|', { a: stale }).pipe(sequenceEvents({ newId: counter() }))).toBe(expected, {
        x: { kind: 'stdout', eventId: 'id-1', ts: '1970-01-01T00:00:00.001Z', seq: 0 },
      });
    });
  });

  it('should read the time from the injected scheduler', () => {
    // Outside run() asyncScheduler is real time; only the injected scheduler is virtual.
    const e1 = scheduler.createColdObservable('--a|', { a: stdout('x') });
    const expected = '--x|';
    scheduler.expectObservable(e1.pipe(sequenceEvents({ newId: counter(), scheduler }))).toBe(expected, {
      x: { ...stdout('x'), eventId: 'id-1', ts: '1970-01-01T00:00:00.020Z', seq: 0 },
    });
    scheduler.flush();
  });

  it('should use random UUIDs by default', () => {
    const ids: string[] = [];
    of(stdout('a'), stdout('b'))
      .pipe(sequenceEvents())
      .subscribe((event) => ids.push(event.eventId));
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});

describe('eventStamps', () => {
  it('should make the same stamps as sequenceEvents, for a pipeline that writes events out itself', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ cold, expectObservable }) => {
      const stampOf = eventStamps({ newId: counter(), scheduler, firstSeq: 5 });
      const stamped = cold('a 9ms b|', { a: 0, b: 1 }).pipe(map((index) => stampOf(index)));
      expectObservable(stamped).toBe('x 9ms y|', {
        x: { eventId: 'id-1', ts: '1970-01-01T00:00:00.000Z', seq: 5 },
        y: { eventId: 'id-2', ts: '1970-01-01T00:00:00.010Z', seq: 6 },
      });
    });
  });
});
