import { describe, expect, it } from 'vitest';
import { jsonChunks } from '../../src/control-plane/json-writer.js';

describe('jsonChunks', () => {
  const values: unknown[] = [
    {
      events: [
        { eventId: 'a', payload: { text: 'x\n"y"' } },
        { eventId: 'b', payload: null },
      ],
      nextCursor: '42',
      jobStatus: 'completed',
    },
    { events: [], nextCursor: '0' },
    [1, 'two', null, undefined, () => 3, { a: undefined, b: [undefined], c: new Date(0) }],
    { skipped: undefined, fn: () => 1, sym: Symbol('s'), kept: 0, nested: { deeper: { deepest: [1, { x: undefined }] } } },
    'text \u2028 with a separator',
    42,
    null,
    { toJSON: () => ({ replaced: true }) },
    { '\u0000odd key"': 'é中😀' },
  ];

  it.each(values.map((value) => [value]))('should join to exactly what JSON.stringify writes: %j', (value) => {
    for (const depth of [0, 1, 2, 5]) expect([...jsonChunks(value, depth)].join('')).toBe(JSON.stringify(value) ?? 'null');
  });

  it('should give each element of a top-level array member its own piece', () => {
    const events = Array.from({ length: 3 }, (_, i) => ({ eventId: String(i), payload: 'p'.repeat(10) }));
    const pieces = [...jsonChunks({ events, nextCursor: '3' })];
    for (const event of events) expect(pieces).toContain(JSON.stringify(event));
    expect(Math.max(...pieces.map((piece) => piece.length))).toBe(JSON.stringify(events[0]).length);
  });
});
