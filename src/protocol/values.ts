/**
 * Helpers for reading values that came from outside (a server's answer, a runner's request, an agent's line, a
 * spool file): parsing JSON that may not be JSON, telling an object apart, and showing a value in a message without
 * letting it take the message (or the terminal it is printed on) over.
 */

export type JsonObject = Record<string, unknown>;

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value `text` stands for as JSON, or undefined when it is not JSON (JSON has no undefined, so nothing is lost):
 * for text whose damage is handled by the caller (a line that is not JSON is text, a torn spool record is skipped).
 */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `text` parsed as JSON when it is a JSON object, else undefined. */
export function parseJsonObject(text: string): JsonObject | undefined {
  const value = parseJsonOrUndefined(text);
  return isObject(value) ? value : undefined;
}

/**
 * Characters that change how a message reads rather than what it says: controls (terminal escapes, NUL, CR, DEL,
 * C1), format characters (bidi overrides, zero-width), line and paragraph separators, lone surrogates.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** `text` with every unprintable character written as a `\u` escape. */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    // biome-ignore lint/style/noNonNullAssertion: a regex match is at least one character.
    const code = char.codePointAt(0)!;
    return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * A value as it would be written in JSON, unprintable characters escaped, cut to `maxChars` (whole characters) with
 * `...`; `nothing` for undefined. Never throws: a value JSON cannot write (too deep, a cycle) is described by its type.
 */
export function describeValue(value: unknown, maxChars = 60): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  }
  const escaped = escapeUnprintable(text);
  const chars = [...escaped];
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 3).join('')}...` : escaped;
}
