import type { AgentAdapter } from '../agents/index.js';
import type { EventKind } from '../protocol/types.js';
import {
  MAX_JSON_DEPTH,
  findUnstorable,
  isSurelyStorableJson,
  repairStorable,
  repairString,
  type UnstorableReason,
} from '../protocol/storable-json.js';
import { parseJsonObject } from '../protocol/values.js';
import type { Logger } from './logger.js';

/** An event on its way to the server, before it is stamped and serialized. */
export interface PendingEvent {
  kind: EventKind;
  payload: Record<string, unknown> | string;
  /**
   * The payload's JSON exactly as the agent printed it, when that can be sent as is (a JSON object that needed no
   * repair): the event's JSON is then built around it, instead of serializing again what was just parsed.
   */
  printedJson?: string;
}

/**
 * Why a line's event is not exactly what the agent printed: the store cannot hold a NUL or a lone surrogate (each
 * becomes U+FFFD), nor JSON nested past {@link MAX_JSON_DEPTH} (the line is kept as text), and no request body can
 * carry an event past the byte budget (`cut`: its text is truncated with a marker).
 */
export type LineChange = UnstorableReason | 'cut';

/** One line of the agent's output, read. */
export interface ReadLine {
  event: PendingEvent;
  /** The JSON object the agent printed, as printed (before any repair), for the adapter's report. */
  message?: Record<string, unknown>;
  change?: { reason: LineChange; detail: string };
}

/**
 * The one rule for a line of stdout. A JSON object becomes an event of the adapter's kind, its NULs and lone
 * surrogates replaced by U+FFFD; a JSON object nested too deep to store becomes a `stdout_line` holding the line's
 * text; anything else (text, a JSON array, string, number or null) is a `stdout_line` holding the text, with any NUL
 * replaced. Every line is exactly one event whose kind is not `stderr_line`: that is how recovery counts the stdout
 * lines already spooled.
 */
export function stdoutEvent(line: string, adapter: AgentAdapter): ReadLine {
  // Only a line that starts like an object can be one: plain text is not handed to JSON.parse to fail.
  const message = line.startsWith('{') ? parseJsonObject(line) : undefined;
  if (!message) return textLine('stdout_line', line);
  const problem = isSurelyStorableJson(line) ? undefined : findUnstorable(message);
  if (problem?.reason === 'too_deep')
    return { ...textLine('stdout_line', line), message, change: { reason: 'too_deep', detail: problem.detail } };
  const kind = adapter.kindOf(message);
  return {
    event: problem ? { kind, payload: repairStorable(message) } : { kind, payload: message, printedJson: line },
    message,
    ...(problem && { change: { reason: problem.reason, detail: problem.detail } }),
  };
}

/** A line of stderr: always text, with any NUL replaced. */
export function stderrEvent(line: string): ReadLine {
  return textLine('stderr_line', line);
}

/**
 * A logger of line changes that says each reason once per job, with where it first happened: a flood of lines
 * with NULs is one warning, not one per line.
 */
export function lineChangeLog(log: Logger, jobId: string): (change: ReadLine['change']) => void {
  const said = new Set<LineChange>();
  return (change) => {
    if (!change || said.has(change.reason)) return;
    said.add(change.reason);
    log.warn(`agent output changed so that the server can store it: ${WHY[change.reason]} (said once per job)`, {
      jobId,
      first: change.detail,
    });
  };
}

const WHY: Record<LineChange, string> = {
  nul: 'a NUL character, which a JSON store cannot hold, became U+FFFD',
  lone_surrogate: 'half of a UTF-16 surrogate pair (a character cut in two) became U+FFFD',
  too_deep: `a JSON line nested past ${MAX_JSON_DEPTH} levels is sent as a stdout_line holding its text`,
  cut: 'an event over the request size budget was cut, its text ending in a "…[truncated N bytes]" marker',
};

function textLine(kind: 'stdout_line' | 'stderr_line', line: string): ReadLine {
  const text = repairString(line);
  if (text === line) return { event: { kind, payload: line } };
  return { event: { kind, payload: text }, change: { reason: 'nul', detail: `a ${kind} held a NUL character` } };
}
