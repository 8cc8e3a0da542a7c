import { describe, expect, it } from 'vitest';
import { TouchThrottle } from '../../../src/control-plane/store/touch-throttle.js';

describe('TouchThrottle', () => {
  it('should let a key be touched once per interval', () => {
    const throttle = new TouchThrottle(5000);
    expect(throttle.due('a', 0)).toBe(true);
    expect(throttle.due('a', 1)).toBe(false);
    expect(throttle.due('a', 4999)).toBe(false);
    expect(throttle.due('a', 5000)).toBe(true);
    expect(throttle.due('a', 9999)).toBe(false);
    expect(throttle.due('a', 10_000)).toBe(true);
  });

  it('should throttle each key on its own', () => {
    const throttle = new TouchThrottle(5000);
    expect(throttle.due('a', 0)).toBe(true);
    expect(throttle.due('b', 1000)).toBe(true);
    expect(throttle.due('a', 5000)).toBe(true);
    expect(throttle.due('b', 5000)).toBe(false);
    expect(throttle.due('b', 6000)).toBe(true);
  });

  it('should remember only the keys touched within the last interval, however many came and went', () => {
    const throttle = new TouchThrottle(5000);
    for (let i = 0; i < 10_000; i++) throttle.due(`token-${i}`, i);
    // At 10 000 ms, the touches of the last 5000 ms are remembered; the older ones would allow a touch anyway.
    expect(throttle.due('late', 10_000)).toBe(true);
    expect(throttle.size).toBe(5000);
    expect(throttle.due('token-5001', 10_000)).toBe(false);
    expect(throttle.due('token-5000', 10_000)).toBe(true);
    // A quiet server forgets every token at its next touch.
    expect(throttle.due('token-1', 60_000)).toBe(true);
    expect(throttle.size).toBe(1);
  });
});
