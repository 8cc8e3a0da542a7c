/** Pure pieces: token generation, default paths. */
import { describe, expect, it } from 'vitest';
import { TOKEN_PATTERN } from '../../src/protocol/types.js';
import { defaultServerDataDir } from '../../src/control-plane/paths.js';
import { isIsoTimestamp } from '../../src/protocol/iso-time.js';
import { deriveAgentId } from '../../src/control-plane/store/admin-jobs.js';
import { generateAdminKey, generateRunnerToken, randomAlphanumeric, secretsEqual, tokenPreview } from '../../src/control-plane/tokens.js';

describe('tokens', () => {
  it('should make fos_ + 32 letters/digits, different every time', () => {
    const tokens = Array.from({ length: 200 }, generateRunnerToken);
    for (const token of tokens) expect(token).toMatch(TOKEN_PATTERN);
    expect(new Set(tokens).size).toBe(200);
    expect(tokenPreview(tokens[0]!)).toBe(tokens[0]!.slice(0, 8));
  });

  it('should use every letter and digit about equally', () => {
    const counts = new Map<string, number>();
    for (const c of randomAlphanumeric(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Expected 1000 each; a modulo bias would push the first 8 characters (256 % 62) to about 1250.
    for (const n of counts.values()) expect(n).toBeGreaterThan(800), expect(n).toBeLessThan(1200);
  });

  it('should never make an admin key that passes as a runner token', () => {
    expect(generateAdminKey()).not.toMatch(TOKEN_PATTERN);
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abcd')).toBe(false);
  });

  it('should derive a stable, UUID-shaped agent id per company and name', () => {
    expect(deriveAgentId('acme', 'Sarah')).toBe(deriveAgentId('acme', 'Sarah'));
    expect(deriveAgentId('acme', 'Sarah')).not.toBe(deriveAgentId('other', 'Sarah'));
    expect(deriveAgentId('acme', 'Sarah')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('defaultServerDataDir', () => {
  it('should follow XDG_DATA_HOME, else ~/.local/share', () => {
    expect(defaultServerDataDir({ XDG_DATA_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/founderos-runner/server');
    expect(defaultServerDataDir({ XDG_DATA_HOME: 'relative', HOME: '/home/u' })).toBe('/home/u/.local/share/founderos-runner/server');
    expect(defaultServerDataDir({ HOME: '/home/u' })).toBe('/home/u/.local/share/founderos-runner/server');
  });
});

describe('isIsoTimestamp', () => {
  it('should take real times with an offset and refuse what PostgreSQL would', () => {
    for (const ts of ['2025-01-02T03:04:05.678Z', '2024-02-29T00:00:00Z', '2000-02-29T23:59:59+14:00', '0001-01-01T00:00:00-15:59']) {
      expect({ ts, ok: isIsoTimestamp(ts) }).toEqual({ ts, ok: true });
    }
    for (const ts of [
      '2025-02-30T00:00:00Z',
      '2100-02-29T00:00:00Z',
      '2025-04-31T00:00:00Z',
      '2025-13-01T00:00:00Z',
      '2025-00-10T00:00:00Z',
      '2025-01-01T24:00:00Z',
      '2025-01-01T00:60:00Z',
      '2025-01-01T00:00:60Z',
      '0000-01-01T00:00:00Z',
      '2025-01-01T00:00:00+16:00',
      '2025-01-01T00:00:00',
      '2025-01-01 00:00:00Z',
      42,
    ]) {
      expect({ ts, ok: isIsoTimestamp(ts) }).toEqual({ ts, ok: false });
    }
  });
});
