/**
 * Characters a terminal or a log viewer acts on instead of showing: C0 controls (ESC starts escape sequences that can
 * retitle the window, rewrite the screen or the clipboard; CR and LF forge log lines), DEL, C1 controls (0x9b is a
 * one-byte CSI), the line and paragraph separators (line breaks to JavaScript and many viewers), and the bidirectional
 * marks, overrides and isolates (which make text read differently from what it is).
 */
const CONTROLS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
const ALL_CONTROLS = new RegExp(`[${CONTROLS}]`, 'g');
const CONTROLS_BUT_NEWLINE = new RegExp(`(?!\\n)[${CONTROLS}]`, 'g');

/**
 * Text from outside (agent output, a runner's fields, names, request paths) as a terminal or a log should show it:
 * every control character as a `\uXXXX` escape (ESC as `\u001b`). The one rule for every log line of the runner and
 * the control plane, and for what the admin CLI prints. Valid inside JSON strings too (so a JSON log line stays JSON),
 * and idempotent. With `keepNewlines`, line breaks stay (for whole documents whose fields were escaped already).
 */
export function escapeControls(text: string, keepNewlines = false): string {
  return text.replace(keepNewlines ? CONTROLS_BUT_NEWLINE : ALL_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
