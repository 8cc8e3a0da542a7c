import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../../src/protocol/types.js';
import type { PendingEvent, ReadLine } from '../../src/runner/line-events.js';
import { MAX_BODY_BYTES, joinBodies, packBodies, spoolEvents, wireEvent, type SpooledBatch } from '../../src/runner/spool-events.js';
import type { JobSpool } from '../../src/streams/spool.js';

/** A spool that keeps its batches in memory: what spoolEvents writes is what would be sent. */
function memorySpool() {
  const bodies: string[] = [];
  const spool = { jobId: 'j1', appendBatch: (body: string) => bodies.push(body) - 1 } as Partial<JobSpool> as JobSpool;
  return { spool, bodies };
}

const text = (payload: string): PendingEvent => ({ kind: 'stdout_line', payload });
const stamp = { eventId: '00000000-0000-4000-8000-000000000000', ts: '2026-11-29T00:00:00.000Z', seq: 7 };
const eventsOf = (body: string) => (JSON.parse(body) as { events: RunnerEvent[] }).events;
/** A batch's size in bytes, checked against its body where the body is at hand. */
const anyBytes = expect.any(Number) as unknown as number;

describe('spoolEvents', () => {
  it('should keep the live shape: a batch 50 ms after its first event, or at once with 32 events', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const { spool, bodies } = memorySpool();
    scheduler.run(({ cold, expectObservable }) => {
      const lines = cold('a b c 50ms d|', { a: text('a'), b: text('b'), c: text('c'), d: text('d') });
      expectObservable(lines.pipe(spoolEvents(spool, { scheduler, noteLineChange: () => {} }))).toBe('50ms x 3ms (y|)', {
        x: { index: 0, size: 3, bytes: anyBytes },
        y: { index: 1, size: 1, bytes: anyBytes },
      });
    });
    expect(bodies.map((body) => eventsOf(body).map(({ payload, seq }) => [payload, seq]))).toEqual([
      [
        ['a', 0],
        ['b', 1],
        ['c', 2],
      ],
      [['d', 3]],
    ]);
    const fresh = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    fresh.run(({ cold, expectObservable }) => {
      const many = cold(`(${'a'.repeat(33)}|)`, { a: text('a') });
      expectObservable(many.pipe(spoolEvents(memorySpool().spool, { scheduler: fresh, noteLineChange: () => {} }))).toBe('(xy|)', {
        x: { index: 0, size: 32, bytes: anyBytes },
        y: { index: 1, size: 1, bytes: anyBytes },
      });
    });
  });

  it('should split a batch into bodies within the byte budget, measured on the JSON sent', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const { spool, bodies } = memorySpool();
    // Each event is about 120 bytes of JSON plus its escaped payload; two fit in 700 bytes of body, three do not.
    const line = '\x01'.repeat(30); // 30 characters, 180 bytes once escaped
    scheduler.run(({ cold, expectObservable }) => {
      const lines = cold('(abc|)', { a: text(line), b: text(line), c: text(line) });
      expectObservable(lines.pipe(spoolEvents(spool, { scheduler, noteLineChange: () => {}, maxBodyBytes: 700 }))).toBe('(xy|)', {
        x: { index: 0, size: 2, bytes: anyBytes },
        y: { index: 1, size: 1, bytes: anyBytes },
      });
    });
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(700);
    const described: SpooledBatch[] = [];
    const again = memorySpool();
    const fresh = new TestScheduler(() => {});
    fresh.run(({ cold }) => {
      cold('(ab|)', { a: text(line), b: text('é') })
        .pipe(spoolEvents(again.spool, { scheduler: fresh, noteLineChange: () => {} }))
        .subscribe((batch) => described.push(batch));
    });
    expect(described).toEqual([{ index: 0, size: 2, bytes: Buffer.byteLength(again.bodies[0]!) }]);
    expect(bodies.flatMap(eventsOf).map((event) => event.payload)).toEqual([line, line, line]);
  });

  it('should cut a 1 MiB line of control characters (6 MB as JSON) to fit one body, and say so once', () => {
    const changes: ReadLine['change'][] = [];
    const { spool, bodies } = memorySpool();
    const scheduler = new TestScheduler(() => {});
    scheduler.run(({ cold }) => {
      cold('(abc|)', { a: text('\x01'.repeat(1024 * 1024)), b: text('after'), c: text('A'.repeat(1024 * 1024)) })
        .pipe(spoolEvents(spool, { scheduler, noteLineChange: (change) => changes.push(change) }))
        .subscribe();
    });
    expect(bodies.map((body) => Buffer.byteLength(body) <= MAX_BODY_BYTES)).toEqual([true, true]);
    const [cut, after, plain] = bodies.flatMap(eventsOf);
    const kept = (cut!.payload as string).match(/^\x01*/)![0].length;
    expect(cut).toMatchObject({ kind: 'stdout_line', seq: 0 });
    expect(cut!.payload).toBe(`${'\x01'.repeat(kept)} …[truncated ${1024 * 1024 - kept} bytes]`);
    expect(kept).toBeGreaterThan(500_000);
    // A line of text under the 1 MiB line cap is never cut.
    expect([after!.payload, plain!.payload]).toEqual(['after', 'A'.repeat(1024 * 1024)]);
    expect(changes).toEqual([{ reason: 'cut', detail: expect.stringMatching(/^event seq 0 was \d+ bytes as JSON/) }]);
  });
});

describe('wireEvent', () => {
  it('should serialize an event once, as sent, and measure it in bytes', () => {
    const wire = wireEvent(text('café'), stamp, 1000, () => {});
    expect(JSON.parse(wire.json)).toEqual({ kind: 'stdout_line', payload: 'café', ...stamp });
    expect(wire.bytes).toBe(Buffer.byteLength(wire.json));
  });

  it('should build the event around the line as the agent printed it, when it is sent as is', () => {
    const printed = '{"type": "result", "cost": 1.50, "big": 12345678901234567890}';
    const event: PendingEvent = { kind: 'claude_result', payload: JSON.parse(printed) as Record<string, unknown>, printedJson: printed };
    const wire = wireEvent(event, stamp, 1000, () => {});
    expect(wire.json).toBe(`{"kind":"claude_result","payload":${printed},"eventId":"${stamp.eventId}","ts":"${stamp.ts}","seq":7}`);
    expect(JSON.parse(wire.json)).toEqual({ kind: 'claude_result', payload: JSON.parse(printed), ...stamp });
  });

  it('should turn a JSON object too big for a body into the truncated text of its JSON, as a stdout_line', () => {
    const big: PendingEvent = { kind: 'claude_message', payload: { type: 'assistant', text: 'x'.repeat(500) } };
    const wire = wireEvent(big, stamp, 300, () => {});
    const event = JSON.parse(wire.json) as RunnerEvent;
    expect(wire.bytes).toBeLessThanOrEqual(300);
    expect(event).toMatchObject({ kind: 'stdout_line', ...stamp });
    expect(event.payload).toMatch(/^\{"type":"assistant","text":"x+ …\[truncated \d+ bytes\]$/);
  });

  it('should keep stderr lines as stderr_line when cut, and never cut a character in two', () => {
    const wire = wireEvent({ kind: 'stderr_line', payload: '😀'.repeat(200) }, stamp, 300, () => {});
    const event = JSON.parse(wire.json) as RunnerEvent;
    expect(event.kind).toBe('stderr_line');
    expect((event.payload as string).isWellFormed()).toBe(true);
    expect(wire.bytes).toBeLessThanOrEqual(300);
  });
});

describe('packBodies', () => {
  it('should pack events in order into bodies of at most the budget, a comma between events', () => {
    const wire = (json: string) => ({ json, bytes: json.length });
    // `{"events":[` + `]}` is 13 bytes: 13 + 10 + 1 + 10 = 34.
    const ten = wire('"12345678"');
    expect(packBodies([ten, ten, ten], 34)).toEqual([
      { body: '{"events":["12345678","12345678"]}', size: 2, bytes: 34 },
      { body: '{"events":["12345678"]}', size: 1, bytes: 23 },
    ]);
    expect(packBodies([], 34)).toEqual([]);
  });
});

describe('joinBodies', () => {
  it('should join spooled bodies into one body of all their events, in order, without parsing them', () => {
    const joined = joinBodies(['{"events":[1,2]}', '{"events":[]}', '{"events":[{"a":"]}"}]}']);
    expect(joined).toBe('{"events":[1,2,{"a":"]}"}]}');
    expect(JSON.parse(joined!)).toEqual({ events: [1, 2, { a: ']}' }] });
  });

  it('should refuse a body that is not framed as the spool writes it', () => {
    expect(joinBodies(['{"events":[1]}', '{"events": [2]}'])).toBeUndefined();
    expect(joinBodies(['{"events":[1]}', '{"events":[2]'])).toBeUndefined();
  });
});
