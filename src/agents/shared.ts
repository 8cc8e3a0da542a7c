import { join } from 'node:path';
import { isObject, type JsonObject } from '../protocol/values.js';
import type { RunReport, StatePath, UsageLimit } from './adapter.js';
import { plausibleReset } from './reset-time.js';

/**
 * A value from the job (so from the server) that an adapter puts in the agent's argv, as a flag's value or a positional
 * argument: returned as is, or refused when it starts with "-", since a CLI's parser could read it as a flag of its own
 * (`--resume --dangerously-skip-permissions`, `--model --yolo`). No session id, model, provider, turn count or
 * directory needs a leading "-"; a compromised or buggy control plane must not be able to turn an agent's permission
 * checks off. The error fails the job before the agent starts, naming the field.
 */
export function argvValue(field: string, value: string | number): string {
  const text = String(value);
  if (!text.startsWith('-')) return text;
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  const fix = field.startsWith('addDirs') ? ' (give a directory whose name starts with "-" by its absolute path, or as ./-name)' : '';
  throw new Error(
    `${field} ${shown} starts with "-" and would be read as a flag by the agent CLI, so the agent was not started; ` +
      `correct ${field} in the job${fix}`,
  );
}

/** One JSON object printed by an agent. Every field is untrusted: read it through the helpers below. */
export type Json = JsonObject;

/** The value when it is a JSON object, else undefined. */
export const objectAt = (value: unknown): Json | undefined => (isObject(value) ? value : undefined);

/** The value when it is a non-empty string, else undefined. */
export const textAt = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);

/** The objects of an array (anything else in it, or a value that is no array, is skipped). */
export const objectsIn = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);

/** The content blocks of a Claude-style `{message: {content: [...]}}` event. */
export const contentBlocks = (event: Json): Json[] => objectsIn(objectAt(event.message)?.content);

export const hasBlock = (event: Json, type: string): boolean => contentBlocks(event).some((block) => block.type === type);

/** A cost in US dollars as integer micro-dollars; undefined unless it is a finite, non-negative number. */
export function usdToMicros(usd: unknown): number | undefined {
  return typeof usd === 'number' && Number.isFinite(usd) && usd >= 0 ? Math.round(usd * 1_000_000) : undefined;
}

/** Adds a cost in US dollars to a running total in micro-dollars; a missing or bad cost leaves the total as it was. */
export function addUsd(totalMicros: number | undefined, usd: unknown): number | undefined {
  const micros = usdToMicros(usd);
  return micros === undefined ? totalMicros : (totalMicros ?? 0) + micros;
}

/**
 * The prompt for a CLI that has no system-prompt flag: the instructions go first. A resumed session already
 * holds them in its transcript, so they are sent only when a new session starts.
 */
export function promptWithInstructions(prompt: string, instructions: string | undefined, resuming: boolean): string {
  if (resuming || !instructions?.trim()) return prompt;
  return `${instructions.trimEnd()}\n\n${prompt}`;
}

/** Terminal colour and style sequences (`ESC [ … m`), which some CLIs print even when stderr is no terminal. */
const ANSI_SGR = /\u001b\[[0-9;]*m/g;

/**
 * An `isUnknownSession` check: true when the run's error text or stderr tail matches one of the patterns (a CLI
 * may report the dead session in its stream, or only on stderr with no JSON at all). Colour codes are taken out
 * first: OpenCode prints `ESC[91mESC[1mError: ESC[0mSession not found`, where no word boundary precedes "Session".
 */
export function unknownSessionMatcher(patterns: readonly RegExp[]) {
  return (report: RunReport, stderrTail: readonly string[]): boolean =>
    [report.errorText ?? '', ...stderrTail].some((text) => patterns.some((pattern) => pattern.test(text.replace(ANSI_SGR, ''))));
}

/**
 * A `usageLimit` check: a limit when the model API answered 429 (`report.apiStatus`) or the run's error text matches
 * one of the patterns; the text is the CLI's error from its stream or, when it printed none, the tail of its stderr.
 * The reset is the one the CLI printed as data (`report.limitResetsAt`), else what `resetIn` reads in the text.
 */
export function usageLimitMatcher(
  patterns: readonly RegExp[],
  resetIn: (text: string, now: number) => number | undefined = () => undefined,
) {
  return (report: RunReport, stderrTail: readonly string[], now: number): UsageLimit | undefined => {
    const text = (report.errorText ?? stderrTail.join('\n')).replace(ANSI_SGR, '');
    if (report.apiStatus !== 429 && !patterns.some((pattern) => pattern.test(text))) return undefined;
    return { resetsAt: plausibleReset(report.limitResetsAt, now) ?? plausibleReset(resetIn(text, now), now) };
  };
}

/**
 * Folds one event of a Claude-style stream-json (Claude Code, and Cursor, whose stream copies it) into the report:
 * the session id is the last non-empty `session_id`; the `result` event is the verdict. An API or auth failure
 * arrives as subtype "success" with `is_error: true`; other subtypes are errors too.
 */
export function foldStreamJsonResult(previous: RunReport, event: Json, agent: string, costUsd: unknown): RunReport {
  const sessionId = textAt(event.session_id) ?? previous.sessionId;
  // The same report when nothing changed: most lines of a stream carry the same session id.
  if (event.type !== 'result') return sessionId === previous.sessionId ? previous : { ...previous, sessionId };
  const reportedError = event.is_error === true || (typeof event.subtype === 'string' && event.subtype !== 'success');
  return {
    sessionId,
    costMicros: usdToMicros(costUsd) ?? previous.costMicros,
    reportedError,
    errorText: reportedError ? streamJsonErrorText(event, agent) : undefined,
  };
}

function streamJsonErrorText(result: Json, agent: string): string {
  if (typeof result.result === 'string' && result.result) return result.result;
  if (Array.isArray(result.errors) && result.errors.length) return result.errors.map(String).join('; ');
  return `${agent} reported ${String(result.subtype ?? 'an error')}`;
}

/** A directory of the CLI's state. */
export const stateDir = (path: string): StatePath => ({ path, kind: 'dir' });

/** `$<variable>` when it names an absolute directory, else `<home>/<fallback>`: the XDG base directories' rule. */
export function xdgHome(env: NodeJS.ProcessEnv, home: string, variable: string, fallback: string): string {
  const value = env[variable];
  return value?.startsWith('/') ? value : join(home, fallback);
}
