/** Search in a transcript: case-insensitive, in the text as shown, every match marked, even across colours. */
import { describe, expect, it } from 'vitest';
import { countMatches, highlightPieces, plainText, searchPattern } from '../../src/ui/search.js';

describe('searchPattern', () => {
  it('should match the words typed literally and in any case, and be nothing when nothing is typed', () => {
    const pattern = searchPattern(' a.b(c ')!;
    expect(countMatches('A.B(C and a.b(c, not axb(c', pattern)).toBe(2);
    expect(searchPattern('   ')).toBeUndefined();
  });
});

describe('plainText', () => {
  it('should leave out escape sequences', () => {
    expect(plainText('\x1b[32m✓\x1b[0m passed')).toBe('✓ passed');
  });
});

describe('highlightPieces', () => {
  it('should cut the text at each match, numbering the matches', () => {
    const { pieces, count } = highlightPieces('error: an Error', searchPattern('error'));
    expect(count).toBe(2);
    expect(pieces).toEqual([{ text: 'error', match: 0 }, { text: ': an ' }, { text: 'Error', match: 1 }]);
  });

  it('should keep colours, and mark a match that spans two colours as one match in two pieces', () => {
    const { pieces, count } = highlightPieces('\x1b[32mpass\x1b[31med\x1b[0m ok', searchPattern('passed'));
    expect(count).toBe(1);
    expect(pieces).toEqual([{ fg: 2, text: 'pass', match: 0 }, { fg: 1, text: 'ed', match: 0 }, { text: ' ok' }]);
  });

  it('should give the styled runs alone without a search', () => {
    expect(highlightPieces('\x1b[1mbold\x1b[0m', undefined)).toEqual({ pieces: [{ bold: true, text: 'bold' }], count: 0 });
    expect(highlightPieces('', searchPattern('x'))).toEqual({ pieces: [], count: 0 });
  });
});
