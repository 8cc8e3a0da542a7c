import { describe, expect, it } from 'vitest';
import { escapeControls } from '../../src/protocol/escape-controls.js';

describe('escapeControls', () => {
  it('should show every character a terminal or a log acts on as a \\u escape, and nothing else', () => {
    expect(escapeControls('\u001b[31mred\u001b[0m \u009b2J \u007f \u202egnp.exe \r\n\t')).toBe(
      '\\u001b[31mred\\u001b[0m \\u009b2J \\u007f \\u202egnp.exe \\u000d\\u000a\\u0009',
    );
    expect(escapeControls('a\u2028b\u2029c\u2066d\u2069e\u200ef\u061c')).toBe('a\\u2028b\\u2029c\\u2066d\\u2069e\\u200ef\\u061c');
    expect(escapeControls('plain text, émoji 😀, 中文')).toBe('plain text, émoji 😀, 中文');
  });

  it('should keep line breaks when asked, and escape the rest', () => {
    expect(escapeControls('a\nb\u001b\r', true)).toBe('a\nb\\u001b\\u000d');
  });

  it('should be idempotent and stay valid inside a JSON string', () => {
    const once = escapeControls('\u001b\u0000');
    expect(escapeControls(once)).toBe(once);
    expect(JSON.parse(`"${escapeControls('\u009b\u202e')}"`)).toBe('\u009b\u202e');
    const line = JSON.stringify({ agent: '\u009b2J\u202e\u2028' });
    expect(JSON.parse(escapeControls(line))).toEqual({ agent: '\u009b2J\u202e\u2028' });
  });
});
