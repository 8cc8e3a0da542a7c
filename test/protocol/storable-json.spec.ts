import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, findUnstorable, isSurelyStorableJson, repairStorable, repairString } from '../../src/protocol/storable-json.js';

const nested = (levels: number): unknown => {
  let value: unknown = 1;
  for (let level = 0; level < levels; level++) value = level % 2 ? { a: value } : [value];
  return value;
};

describe('findUnstorable', () => {
  it('accepts what jsonb stores: ordinary objects, arrays, text with emoji, escapes and control characters', () => {
    expect(
      findUnstorable({ type: 'assistant', message: { content: [{ type: 'text', text: 'ok 😀 \x01\t\r' }] }, n: 1.5, ok: null }),
    ).toBeUndefined();
    expect(findUnstorable('plain text')).toBeUndefined();
    expect(findUnstorable(nested(MAX_JSON_DEPTH))).toBeUndefined();
  });

  it('names the path of a string that holds half of a surrogate pair', () => {
    const line = '{"type":"assistant","message":{"content":[{"type":"text","text":"cut emoji \\ud83d"}]}}';
    expect(findUnstorable(JSON.parse(line))).toEqual({
      reason: 'lone_surrogate',
      path: 'message.content[0].text',
      detail:
        'message.content[0].text: its value holds half of a UTF-16 surrogate pair (a character cut in two), which cannot be stored as JSON',
    });
  });

  it('names a key that holds NUL, quoting it', () => {
    const problem = findUnstorable(JSON.parse('{"ok":{"k\\u0000":1}}'));
    expect(problem?.reason).toBe('nul');
    expect(problem?.path).toBe('ok["k\uFFFD"]');
    expect(problem?.detail).toContain('its key holds a NUL character');
  });

  it('finds NUL in a plain string value at the root', () => {
    expect(findUnstorable('a\0b')).toMatchObject({ reason: 'nul', path: '' });
  });

  it('refuses nesting past the limit without overflowing the stack, however deep', () => {
    const deep = JSON.parse(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(findUnstorable(deep)).toMatchObject({ reason: 'too_deep' });
    expect(findUnstorable(nested(MAX_JSON_DEPTH + 1))).toMatchObject({ reason: 'too_deep' });
    expect(findUnstorable(nested(10), 9)).toMatchObject({ reason: 'too_deep' });
  });

  it('reports nesting before a NUL or lone surrogate met earlier, since only those can be repaired', () => {
    const both = JSON.parse(`{"k\\u0000":"\\ud83d","a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
    expect(findUnstorable(both)).toMatchObject({ reason: 'too_deep', path: expect.stringMatching(/^a(\[0\])+$/) });
    expect(findUnstorable(both, Infinity)).toMatchObject({ reason: 'nul', path: '["k\uFFFD"]' });
  });
});

describe('repairStorable', () => {
  it('returns the same value when there is nothing to repair', () => {
    const event = { type: 'result', list: [1, 'two'] };
    expect(repairStorable(event)).toBe(event);
  });

  it('replaces NUL and lone surrogates with U+FFFD in values and keys, keeping everything else', () => {
    const repaired = repairStorable(JSON.parse('{"text":"cut \\ud83d","k\\u0000":["a\\u0000b",2],"fine":"😀"}'));
    expect(repaired).toEqual({ text: 'cut \uFFFD', 'k\uFFFD': ['a\uFFFDb', 2], fine: '😀' });
    expect(findUnstorable(repaired)).toBeUndefined();
  });

  it('keeps a __proto__ key as a plain key', () => {
    const repaired = repairStorable(JSON.parse('{"__proto__":{"polluted":true},"x":"\\udc00"}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(repaired)).toBe(Object.prototype);
    expect(Object.keys(repaired)).toEqual(['__proto__', 'x']);
    expect(JSON.stringify(repaired)).toBe('{"__proto__":{"polluted":true},"x":"\uFFFD"}');
  });

  it('repairs a string on its own', () => {
    expect(repairString('a\0b\ud800c')).toBe('a\uFFFDb\uFFFDc');
    expect(repairString('fine')).toBe('fine');
  });
});

describe('isSurelyStorableJson', () => {
  const brackets = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('should vouch for ordinary agent lines, which then need no walk', () => {
    for (const text of [
      '{"type":"assistant","message":{"content":[{"type":"text","text":"hé 😀 \\n \\" ok"}]}}',
      brackets(MAX_JSON_DEPTH),
    ]) {
      expect(isSurelyStorableJson(text)).toBe(true);
      expect(findUnstorable(JSON.parse(text))).toBeUndefined();
    }
  });

  it('should leave to the walk every text whose value may not be storable', () => {
    for (const text of ['{"k\\u0000":1}', '{"text":"cut \\ud83d"}', brackets(MAX_JSON_DEPTH + 1)]) {
      expect(isSurelyStorableJson(text)).toBe(false);
      expect(findUnstorable(JSON.parse(text))).toBeDefined();
    }
    // An escape that is harmless still sends the text to the walk, which clears it.
    expect(isSurelyStorableJson('{"a":"\\u00e9"}')).toBe(false);
    expect(isSurelyStorableJson('"\ud83d"')).toBe(false);
  });
});
