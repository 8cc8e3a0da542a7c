import { describe, expect, it } from 'vitest';
import { base64Length, isBase64 } from '../../src/protocol/base64.js';

describe('isBase64', () => {
  it.each(['', 'QQ==', 'QUI=', 'QUJD', Buffer.from('Be terse. Ünïcode ✓').toString('base64'), '+/+/'])(
    'should take %j, which every decoder reads alike',
    (text) => expect(isBase64(text)).toBe(true),
  );

  it.each([
    ['plain text', 'Be brief.'],
    ['no padding', 'QQ'],
    ['too much padding', 'Q==='],
    ['padding inside', 'QQ==QUJD'],
    ['a line break', 'QUJD\nQUJD'],
    ['a trailing newline', 'QUJD\n'],
    ['the URL-safe alphabet', '-_-_'],
    ['spaces', 'QU JD'],
  ])('should refuse %s', (_what, text) => expect(isBase64(text)).toBe(false));
});

describe('base64Length', () => {
  it('should count the characters that carry a number of bytes', () => {
    for (const bytes of [0, 1, 2, 3, 4, 1024 * 1024]) expect(base64Length(bytes)).toBe(Buffer.alloc(bytes).toString('base64').length);
  });
});
