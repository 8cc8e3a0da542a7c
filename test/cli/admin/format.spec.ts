import { describe, expect, it } from 'vitest';
import { escapeControls } from '../../../src/cli/admin/format.js';

describe('escapeControls', () => {
  it('should show every character a terminal acts on as a \\u escape, and nothing else', () => {
    expect(escapeControls('\u001b[31mred\u001b[0m \u009b2J \u007f \u202egnp.exe \r\n\t')).toBe(
      '\\u001b[31mred\\u001b[0m \\u009b2J \\u007f \\u202egnp.exe \\u000d\\u000a\\u0009',
    );
    expect(escapeControls('a\nb\u001b', true)).toBe('a\nb\\u001b');
    expect(escapeControls('plain text, émoji 😀, 中文')).toBe('plain text, émoji 😀, 中文');
    const once = escapeControls('\u001b\u0000');
    expect(escapeControls(once)).toBe(once);
    expect(JSON.parse(`"${escapeControls('\u009b\u202e')}"`)).toBe('\u009b\u202e');
  });
});
