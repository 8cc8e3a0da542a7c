import { describe, expect, it } from 'vitest';
import { ServerHealth } from '../../../src/streams/http/server-health.js';

describe('ServerHealth', () => {
  it('should tell whether the server accepted a request since a mark, counting 2xx answers only', () => {
    const health = new ServerHealth();
    const mark = health.mark();
    health.answered(502, 0);
    health.answered(409, 0);
    expect(health.acceptedSince(mark)).toBe(false);
    health.answered(204, 0);
    expect(health.acceptedSince(mark)).toBe(true);
    expect(health.acceptedSince(health.mark())).toBe(false);
  });

  it('should report an outage once, however many requests see it, and its end once, with how long it lasted', () => {
    const seen: string[] = [];
    const health = new ServerHealth({ onPathDown: () => seen.push('down'), onPathBack: (downMs) => seen.push(`back after ${downMs}`) });
    health.pathDown(1_000);
    health.pathDown(1_500);
    expect(health.pathIsDown).toBe(true);
    health.pathBack(4_000);
    health.pathBack(4_100);
    expect(seen).toEqual(['down', 'back after 3000']);
    expect(health.pathIsDown).toBe(false);
  });

  it('should end an outage at any answer, whatever its status', () => {
    const seen: number[] = [];
    const health = new ServerHealth({ onPathBack: (downMs) => seen.push(downMs) });
    health.pathDown(0);
    health.answered(503, 250);
    expect(seen).toEqual([250]);
    expect(health.pathIsDown).toBe(false);
  });
});
