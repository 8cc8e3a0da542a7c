import { afterEach, describe, expect, it } from 'vitest';
import { AcceptedSecrets, RefusalThrottle } from '../../src/control-plane/refusal-throttle.js';
import { presentedSecret } from '../../src/control-plane/tokens.js';

describe('RefusalThrottle', () => {
  let now = 0;
  const logs: string[] = [];
  const throttles: RefusalThrottle[] = [];
  const make = (options: { limit?: number; windowMs?: number; maxAddresses?: number } = {}) => {
    const throttle = new RefusalThrottle({ limit: 3, windowMs: 10_000, ...options, log: (line) => logs.push(line), now: () => now });
    throttles.push(throttle);
    return throttle;
  };
  afterEach(() => {
    for (const throttle of throttles.splice(0)) throttle.close();
    logs.length = 0;
    now = 0;
  });

  it('should allow `limit` refusals per window, then say how long to wait, per address', () => {
    const throttle = make();
    expect([throttle.refused('a'), throttle.refused('a'), throttle.refused('a')]).toEqual([true, false, false]);
    expect(throttle.retryAfterSec('a')).toBe(10);
    expect(throttle.retryAfterSec('b')).toBeUndefined();
    now = 7_500;
    expect(throttle.retryAfterSec('a')).toBe(3);
    now = 10_000;
    expect(throttle.retryAfterSec('a')).toBeUndefined();
  });

  it('should log one line per burst that counts what it did not log', () => {
    const throttle = make();
    for (let i = 0; i < 50; i++) throttle.refused('10.0.0.1');
    throttle.refused('10.0.0.2'); // a single refusal is its own line (the access log's), nothing to count
    now = 10_000;
    throttle.sweep();
    expect(logs).toEqual([
      'refused 50 requests with a wrong key or token from 10.0.0.1 within 10s (logged only the first; 47 of them answered 429)',
    ]);
  });

  it('should count every address past `maxAddresses` as one, so that many addresses cannot grow it', () => {
    const throttle = make({ maxAddresses: 2 });
    throttle.refused('a');
    throttle.refused('b');
    for (let i = 0; i < 5; i++) throttle.refused(`spoofed-${i}`);
    expect(throttle.retryAfterSec('spoofed-new')).toBe(10);
    expect(throttle.retryAfterSec('a')).toBeUndefined();
  });
});

describe('AcceptedSecrets', () => {
  it('should remember a secret for its time, the newest ones when full', () => {
    let now = 0;
    const accepted = new AcceptedSecrets(1000, 2, () => now);
    const secrets = [presentedSecret('one'), presentedSecret('two'), presentedSecret('three')] as const;
    for (const secret of secrets) accepted.add(secret);
    expect(secrets.map((secret) => accepted.has(secret))).toEqual([false, true, true]);
    now = 1000;
    expect(accepted.has(secrets[2])).toBe(false);
  });
});
