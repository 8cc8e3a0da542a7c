/** ANSI colours in agent output become styled text runs; nothing else survives, and nothing becomes markup. */
import { describe, expect, it } from 'vitest';
import { color256, parseAnsi, runClasses, runColors } from '../../src/ui/ansi.js';

describe('parseAnsi', () => {
  it('should leave text without escapes as one run', () => {
    expect(parseAnsi('plain <b>text</b>')).toEqual([{ text: 'plain <b>text</b>' }]);
  });

  it('should colour the text between SGR codes and reset on 0 and on an empty code', () => {
    expect(parseAnsi('a\x1b[31mred\x1b[0m b\x1b[1;32mgreen\x1b[m c')).toEqual([
      { text: 'a' },
      { text: 'red', fg: 1 },
      { text: ' b' },
      { text: 'green', fg: 2, bold: true },
      { text: ' c' },
    ]);
  });

  it('should know bright, background, 256 and true colours, and turn attributes off one by one', () => {
    expect(parseAnsi('\x1b[91;104mx')).toEqual([{ text: 'x', fg: 9, bg: 12 }]);
    expect(parseAnsi('\x1b[38;5;196mx\x1b[48;2;1;2;3my')).toEqual([
      { text: 'x', fg: '#ff0000' },
      { text: 'y', fg: '#ff0000', bg: '#010203' },
    ]);
    expect(parseAnsi('\x1b[1;3;4mx\x1b[22;23mz\x1b[24;39;49mw')).toEqual([
      { text: 'x', bold: true, italic: true, underline: true },
      { text: 'z', underline: true },
      { text: 'w' },
    ]);
  });

  it('should drop cursor moves, OSC titles and links, and lone escapes, keeping their text', () => {
    expect(parseAnsi('\x1b[2K\x1b[1Gspinner\x1b]0;title\x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b7done')).toEqual([
      { text: 'spinner' },
      { text: ' ' },
      { text: 'link' },
      { text: ' ' },
      { text: 'done' },
    ]);
  });

  it('should ignore a malformed extended colour instead of guessing', () => {
    expect(parseAnsi('\x1b[38;9;1mx')).toEqual([{ text: 'x' }]);
    expect(parseAnsi('\x1b[38;5;999mx')).toEqual([{ text: 'x', fg: '#eeeeee' }]);
  });

  it('should keep HTML in agent output as text', () => {
    const runs = parseAnsi('\x1b[31m<img src=x onerror=alert(1)>\x1b[0m<script>alert(2)</script>');
    expect(runs.map((run) => run.text).join('')).toBe('<img src=x onerror=alert(1)><script>alert(2)</script>');
  });
});

describe('color256', () => {
  it('should keep the 16 palette colours as indexes and compute the cube and the greys', () => {
    expect(color256(7)).toBe(7);
    expect(color256(16)).toBe('#000000');
    expect(color256(21)).toBe('#0000ff');
    expect(color256(231)).toBe('#ffffff');
    expect(color256(232)).toBe('#080808');
    expect(color256(255)).toBe('#eeeeee');
  });
});

describe('run styling', () => {
  it('should give palette colours and attributes as classes and hex colours as a style', () => {
    expect(runClasses({ fg: 1, bg: 4, bold: true, dim: true, italic: true, underline: true })).toBe('a-fg1 a-bg4 a-b a-d a-i a-u');
    expect(runColors({ fg: '#ff0000', bg: 2 })).toEqual({ color: '#ff0000' });
  });

  it('should swap the colours for inverse', () => {
    expect(runClasses({ inverse: true, fg: 1 })).toBe('a-inv a-bg1');
    expect(runColors({ inverse: true, bg: '#010203' })).toEqual({ color: '#010203' });
  });
});
