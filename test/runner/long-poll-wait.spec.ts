import { describe, expect, it } from 'vitest';
import { LongPollWait } from '../../src/runner/long-poll-wait.js';

describe('LongPollWait', () => {
  const make = (preferredSec = 300) => {
    const cut: [number, number][] = [];
    return { wait: new LongPollWait(preferredSec, (asked, after) => cut.push([asked, after])), cut };
  };

  it("should ask for the protocol's 30 s until the server applies a wait, and for the preferred wait while it does", () => {
    const { wait } = make();
    expect(wait.askSec).toBe(30);
    wait.answered(undefined);
    expect(wait.askSec).toBe(30);
    wait.answered(30);
    expect(wait.askSec).toBe(300);
    // A server replaced by one that does not apply waits (a restart into an older version) is asked 30 s again.
    wait.answered(undefined);
    expect(wait.askSec).toBe(30);
  });

  it('should go back to 30 s for good, telling once, when a long wait fails after it was held a while', () => {
    const { wait, cut } = make();
    wait.answered(30);
    wait.failed(300, 61_000);
    expect(cut).toEqual([[300, 61]]);
    wait.answered(300);
    expect(wait.askSec).toBe(30);
    wait.failed(30, 31_000);
    expect(cut).toHaveLength(1);
  });

  it('should keep asking for the long wait after a failure at once (a refused connection, a 503), or of a short wait', () => {
    const { wait, cut } = make();
    wait.answered(300);
    wait.failed(300, 2_000);
    wait.failed(30, 45_000);
    expect(cut).toEqual([]);
    expect(wait.askSec).toBe(300);
  });

  it('should go back to 30 s when a proxy cuts the wait sooner than the protocol window (a 15 s read timeout)', () => {
    const { wait, cut } = make();
    wait.answered(300);
    wait.failed(300, 15_000);
    expect(cut).toEqual([[300, 15]]);
    expect(wait.askSec).toBe(30);
  });

  it('should never ask for less than the protocol window', () => {
    const { wait } = make(10);
    wait.answered(30);
    expect(wait.askSec).toBe(30);
  });
});
