/**
 * Part 2: a long-poll held longer than the protocol's 30 s, asked for with RFC 7240's `Prefer: wait=<seconds>`.
 *
 * Each poll that ends costs the server a whole HTTP exchange, and a waiting runner polls again as soon as its poll
 * ends: ten thousand runners on a 30 s window make 333 exchanges a second while nothing happens, which is more CPU
 * than node:http itself spends on them on a small machine (docs/benchmarks.md). A server that knows the preference
 * holds the poll up to the wait asked for (within its own limit) and says what it applied with
 * `Preference-Applied: wait=<seconds>`; one that does not ignores the header, as RFC 7240 asks, and holds 30 s.
 */

/** The window of Part 1: what every server holds a poll for unless it applied a longer wait. */
export const PROTOCOL_WAIT_SEC = 30;

/** The most a wait may be on the wire; anything longer is read as this (an hour: far past any sane window). */
const MAX_WAIT_SEC = 3600;

/** RFC 7240 preferences are comma-separated, each `token[=value]` with `;`-parameters; names are case-insensitive. */
const WAIT_PREFERENCE = /(?:^|,)\s*wait\s*=\s*"?(\d{1,10})"?\s*(?:[;,]|$)/i;

/**
 * The wait of a `Prefer` or `Preference-Applied` header, in whole seconds from 1 to an hour; undefined when the
 * header names none, or a wait that is not a number of seconds (the header is then ignored, as RFC 7240 asks).
 */
export function readWaitPreference(header: string | readonly string[] | null | undefined): number | undefined {
  const text = typeof header === 'string' ? header : header?.join(',');
  const match = text ? WAIT_PREFERENCE.exec(text) : null;
  if (!match) return undefined;
  const seconds = Number(match[1]);
  return seconds >= 1 ? Math.min(seconds, MAX_WAIT_SEC) : undefined;
}

/** The header value asking for, or saying that the server applied, a wait of `seconds`. */
export const waitPreference = (seconds: number): string => `wait=${seconds}`;
