/** A transcript of any size streams through the page within a budget; what was dropped can be asked for again. */
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/control-plane/types.js';
import { HeldEvents } from '../../src/ui/held-events.js';

const page = (from: number, count: number): StoredEvent[] =>
  Array.from({ length: count }, (_, i) => ({
    eventId: `e${from + i}`,
    attempt: 1,
    seq: from + i,
    kind: 'stdout_line',
    ts: '',
    payload: `line ${from + i}`,
  }));

/** Ten pages of 10 events and 100 bytes each, with cursors c1…c10. */
function filled(budget: number): HeldEvents {
  const held = new HeldEvents(budget);
  for (let i = 0; i < 10; i++) held.add(page(i * 10, 10), `c${i + 1}`, 100);
  return held;
}

describe('HeldEvents', () => {
  it("should chain the pages by their cursors, the first starting at the job's beginning", () => {
    const held = filled(10_000);
    expect(held.pages.map((p) => [p.after, p.next])).toEqual(
      Array.from({ length: 10 }, (_, i) => [i === 0 ? undefined : `c${i}`, `c${i + 1}`]),
    );
    expect(held.cursor).toBe('c10');
    expect(held.events()).toHaveLength(100);
    expect(held.pageIndexOf(held.events()[35]!)).toBe(3);
  });

  it('should drop the oldest pages before the one on screen when over the budget, down to three quarters of it', () => {
    const held = filled(800);
    expect(held.trim(9)).toBe(true);
    expect(held.bytes).toBeLessThanOrEqual(600);
    expect(held.pages.slice(0, 4).every((p) => p.events === undefined)).toBe(true);
    expect(held.events()[0]!.eventId).toBe('e40');
    expect(held.dropped).toBe(40);
    expect(held.total).toBe(100);
  });

  it('should never drop the page on screen or what follows it', () => {
    const held = filled(100);
    held.trim(2);
    expect(held.pages.map((p) => p.events !== undefined)).toEqual([false, false, true, true, true, true, true, true, true, true]);
  });

  it('should do nothing within the budget', () => {
    const held = filled(1_000);
    expect(held.trim(9)).toBe(false);
    expect(held.dropped).toBe(0);
  });

  it('should name the dropped page just before what it holds, and take its events back', () => {
    const held = filled(800);
    held.trim(9);
    const index = held.lastDroppedBeforeHeld();
    expect(index).toBe(3);
    expect(held.pages[index]!.after).toBe('c3');
    held.restore(index, page(30, 10), 100);
    expect(held.events()[0]!.eventId).toBe('e30');
    expect(held.lastDroppedBeforeHeld()).toBe(2);
  });

  it('should start after a cursor when told to, and ignore an empty page', () => {
    const held = new HeldEvents(100, 'c7');
    held.add([], 'c7', 0);
    expect(held.pages).toHaveLength(0);
    expect(held.cursor).toBe('c7');
    held.add(page(0, 1), 'c8', 10);
    expect(held.pages[0]!.after).toBe('c7');
  });
});
