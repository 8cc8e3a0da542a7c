import { describe, expect, it } from 'vitest';
import { AuthCache } from '../../../src/control-plane/store/auth-cache.js';
import type { RunnerIdentity } from '../../../src/control-plane/store/tokens.js';

const runner = (tokenId: string, validUntil = 1_000_000): RunnerIdentity => ({
  tokenId,
  companyId: 'acme',
  preview: 'fos_abcd',
  expiresAt: new Date(validUntil).toISOString(),
  validUntil,
});

describe('AuthCache', () => {
  it('should remember a good token until it is forgotten', () => {
    const cache = new AuthCache(10, 60_000);
    cache.set('hash-a', runner('a'), 0);
    expect(cache.get('hash-a', 1000)).toEqual(runner('a'));
    expect(cache.get('hash-b', 1000)).toBeUndefined();
    cache.forget('a');
    expect(cache.get('hash-a', 1000)).toBeUndefined();
  });

  it('should not answer for a token past its expiry, nor past its maximum age', () => {
    const cache = new AuthCache(10, 60_000);
    cache.set('expiring', runner('a', 5000), 0);
    cache.set('aging', runner('b'), 0);
    expect(cache.get('expiring', 4999)).toBeDefined();
    expect(cache.get('expiring', 5000)).toBeUndefined();
    expect(cache.get('aging', 59_999)).toBeDefined();
    expect(cache.get('aging', 60_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('should hold at most its number of tokens, forgetting the oldest first', () => {
    const cache = new AuthCache(2, 60_000);
    cache.set('hash-a', runner('a'), 0);
    cache.set('hash-b', runner('b'), 1);
    cache.set('hash-c', runner('c'), 2);
    expect([cache.get('hash-a', 3), cache.get('hash-b', 3)?.tokenId, cache.get('hash-c', 3)?.tokenId]).toEqual([undefined, 'b', 'c']);
    expect(cache.size).toBe(2);
  });

  it('should keep one entry per token when the same token is seen again', () => {
    const cache = new AuthCache(10, 60_000);
    cache.set('hash-a', runner('a', 5000), 0);
    cache.set('hash-a', runner('a', 9000), 10);
    expect(cache.size).toBe(1);
    expect(cache.get('hash-a', 6000)?.validUntil).toBe(9000);
  });
});
