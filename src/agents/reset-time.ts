/**
 * When a usage limit resets, as the agent CLIs say it: a duration ("Please retry in 37.9s", "Suggested retry after
 * 37s", OpenAI's `x-ratelimit-reset-tokens: 6m0s`), response headers, or a wall-clock time on this machine's clock
 * ("try again at 3:28 PM", "try again at Aug 8th, 2026 12:30 PM"). Every parser is pure: `now` (epoch ms) anchors
 * what the CLI said relative to the moment. `plausibleReset` then judges the time read: one that is not plausible
 * (in the past by more than a minute, or further ahead than any plan's window) is no statement at all, and the
 * runner backs off instead.
 */

/** The longest window a limit resets after: a monthly spend cap. A later "reset" is a misreading. */
const LONGEST_WINDOW_MS = 32 * 24 * 3600_000;
/** How far a stated reset may lie behind `now` and still be read: a time stated to the minute ends up to 59 s early. */
const STATED_TO_THE_MINUTE_MS = 60_000;

/** The time, when it is a plausible moment for a limit to reset seen from `now`; else undefined. */
export function plausibleReset(at: number | undefined, now: number): number | undefined {
  if (at === undefined || !Number.isFinite(at)) return undefined;
  return at >= now - STATED_TO_THE_MINUTE_MS && at <= now + LONGEST_WINDOW_MS ? at : undefined;
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
const UNIT_MS: Record<string, number> = { h: 3600_000, m: 60_000, s: 1000, ms: 1 };

/** A duration as Go and the model APIs print it ("37s", "1.5s", "250ms", "1m30s", "6m0s", "2h13m4.5s"), in ms. */
export function durationMs(text: string): number | undefined {
  const trimmed = text.trim();
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let read = 0;
  for (let part = DURATION_PART.exec(trimmed); part; part = DURATION_PART.exec(trimmed)) {
    const [, amount, unit] = part;
    const unitMs = unit && UNIT_MS[unit];
    if (!unitMs) return undefined;
    total += Number(amount) * unitMs;
    read = DURATION_PART.lastIndex;
  }
  return read > 0 && read === trimmed.length ? Math.ceil(total) : undefined;
}

/**
 * The moment a message says to try again after a wait: "Please retry in 37.917259018s", "Suggested retry after 37s",
 * "Please try again in 6m0s", "try again in 20ms". The last such statement counts (a CLI appends its own after the API's).
 */
export function retryInText(text: string, now: number): number | undefined {
  const waits = [...text.matchAll(/\b(?:retry|try again) (?:in|after) (\d[\dhms.]*?)\.?(?=[\s,;)\]]|$)/gi)];
  const lastWait = waits.at(-1)?.[1];
  const wait = lastWait === undefined ? undefined : durationMs(lastWait);
  return wait === undefined ? undefined : now + wait;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const CLOCK = /\b(?:try again|resets?) at (?:([A-Z][a-z]{2}) (\d{1,2})(?:st|nd|rd|th)?, (\d{4}) )?(\d{1,2}):(\d{2}) ?([AP]M)\b/i;

/**
 * A wall-clock time in this machine's time zone, as codex prints a reset ("try again at 3:28 PM" on the day itself,
 * "try again at Aug 8th, 2026 12:30 PM" on another), read on the day of `now`. The agent runs with the runner's
 * environment, so its local time zone is the runner's.
 */
export function localClockTime(text: string, now: number): number | undefined {
  const match = CLOCK.exec(text);
  if (!match) return undefined;
  const [, month, day, year, hour, minute, half] = match;
  const today = new Date(now);
  const monthIndex = month ? MONTHS.indexOf(month.toLowerCase()) : today.getMonth();
  if (monthIndex < 0) return undefined;
  const hour24 = (Number(hour) % 12) + (half?.toUpperCase() === 'PM' ? 12 : 0);
  const at = new Date(year ? Number(year) : today.getFullYear(), monthIndex, day ? Number(day) : today.getDate(), hour24, Number(minute));
  return at.getTime();
}

/**
 * When the limits a 429's response headers name as spent reset, seen from `at` (when the answer came): OpenAI's
 * `x-ratelimit-remaining-<kind>: 0` with its `x-ratelimit-reset-<kind>` duration, Anthropic's
 * `anthropic-ratelimit-<kind>-remaining: 0` with its `-reset` time, a subscription's `anthropic-ratelimit-unified-reset`
 * (epoch seconds); the latest of them, else `retry-after`. Not checked for plausibility: the caller knows `now`.
 */
export function resetFromHeaders(headers: Record<string, unknown>, at: number): number | undefined {
  const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);
  const resets: number[] = [];
  for (const kind of ['requests', 'tokens']) {
    const wait = header(`x-ratelimit-remaining-${kind}`) === '0' ? durationMs(header(`x-ratelimit-reset-${kind}`) ?? '') : undefined;
    if (wait !== undefined) resets.push(at + wait);
  }
  for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    const reset =
      header(`anthropic-ratelimit-${kind}-remaining`) === '0' ? Date.parse(header(`anthropic-ratelimit-${kind}-reset`) ?? '') : NaN;
    if (Number.isFinite(reset)) resets.push(reset);
  }
  if (header('anthropic-ratelimit-unified-status') === 'rejected') {
    const seconds = Number(header('anthropic-ratelimit-unified-reset'));
    if (seconds > 0) resets.push(seconds * 1000);
  }
  if (resets.length) return Math.max(...resets);
  return retryAfterAt(header('retry-after'), at);
}

/** A `retry-after` header (seconds, or an HTTP date) read at `at`. */
function retryAfterAt(value: string | undefined, at: number): number | undefined {
  if (!value?.trim()) return undefined;
  const seconds = Number(value);
  const reset = Number.isFinite(seconds) ? at + seconds * 1000 : Date.parse(value);
  return Number.isFinite(reset) ? reset : undefined;
}
