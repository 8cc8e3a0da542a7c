import { describe, expect, it } from 'vitest';
import { PROTOCOL_WAIT_SEC, readWaitPreference, waitPreference } from '../../src/protocol/prefer-wait.js';

describe('the wait preference (Part 2, RFC 7240 Prefer: wait)', () => {
  it.each([
    ['wait=300', 300],
    ['WAIT = 45', 45],
    ['respond-async, wait=120', 120],
    ['wait=120; x=y, handling=lenient', 120],
    ['wait="90"', 90],
    [['handling=strict', 'wait=60'], 60],
    ['wait=99999', 3600],
  ])('should read %j as %i seconds', (header, seconds) => {
    expect(readWaitPreference(header)).toBe(seconds);
  });

  it.each([[undefined], [null], [''], ['wait=0'], ['wait=-5'], ['wait=abc'], ['wait=1.5'], ['await=30'], ['nowait=30'], ['wait']])(
    'should ignore %j, as RFC 7240 asks of a preference it cannot read',
    (header) => {
      expect(readWaitPreference(header)).toBeUndefined();
    },
  );

  it('should write what it reads', () => {
    expect(readWaitPreference(waitPreference(PROTOCOL_WAIT_SEC))).toBe(PROTOCOL_WAIT_SEC);
    expect(waitPreference(300)).toBe('wait=300');
  });
});
