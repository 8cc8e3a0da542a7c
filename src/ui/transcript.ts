/**
 * A job's events as a person reads them: assistant text, tool calls and their results (collapsible), the final
 * result, and output lines. One function per family of agent output (claude's stream-json and the shapes the
 * other adapters pass through as `model_message`, `tool_call`, `tool_result`, `run_complete`); anything not
 * recognised is still shown, as its JSON. Pure data in, data out: rendering is the page's, always as text.
 */
import type { StoredEvent } from '../control-plane/types.js';

/** How many events a transcript shows at first, and how many more each "load earlier" adds: a long job stays smooth. */
export const INITIAL_WINDOW = 300;
export const LOAD_MORE = 1000;

export type EntryType = 'text' | 'thinking' | 'tool_call' | 'tool_result' | 'result' | 'meta' | 'stdout' | 'stderr' | 'other';

export interface Entry {
  type: EntryType;
  /** A short heading: the tool's name, "Result", the role… */
  title: string;
  /** The text shown (or, for collapsible types, shown when opened). */
  body: string;
  /** A tool that failed, a run that ended in error. */
  error?: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
export const pretty = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v, null, 2) ?? String(v)));

/** Text from a content field that is a string, or a list of blocks with text in them. */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts = content
    .map((block) => (typeof block === 'string' ? block : str(obj(block).text)))
    .filter((t): t is string => t !== undefined);
  return texts.length > 0 ? texts.join('\n') : undefined;
}

/** claude (and cursor, which prints the same shape): message.content blocks, init and result lines. */
function claudeEntries(p: Obj): Entry[] | undefined {
  if (p.type === 'system' && p.subtype === 'init') {
    return [
      {
        type: 'meta',
        title: 'Session started',
        body: [str(p.model) && `model ${p.model}`, str(p.cwd) && `in ${p.cwd}`].filter(Boolean).join(', '),
      },
    ];
  }
  if (p.type === 'result') {
    const cost = typeof p.total_cost_usd === 'number' ? ` · $${p.total_cost_usd.toFixed(4)}` : '';
    const errors = Array.isArray(p.errors) ? p.errors.map(String).join('\n') : undefined;
    return [
      {
        type: 'result',
        title: `Result: ${String(p.subtype ?? 'done')}${cost}`,
        body: str(p.result) ?? errors ?? '',
        error: p.is_error === true,
      },
    ];
  }
  if (p.type === 'thinking') return [{ type: 'thinking', title: 'Thinking', body: str(p.text) ?? '' }];
  const message = obj(p.message);
  if (!Array.isArray(message.content)) return undefined;
  const role = str(message.role) ?? str(p.type) ?? 'assistant';
  return message.content.map((raw): Entry => {
    const block = obj(raw);
    switch (block.type) {
      case 'text':
        return { type: role === 'user' ? 'meta' : 'text', title: role, body: str(block.text) ?? '' };
      case 'thinking':
        return { type: 'thinking', title: 'Thinking', body: str(block.thinking) ?? str(block.text) ?? '' };
      case 'tool_use':
      case 'toolCall':
        return { type: 'tool_call', title: String(block.name ?? 'tool'), body: pretty(block.input ?? block.arguments ?? {}) };
      case 'tool_result':
        return {
          type: 'tool_result',
          title: 'Tool result',
          body: contentText(block.content) ?? pretty(block.content),
          error: block.is_error === true,
        };
      default:
        return { type: 'other', title: String(block.type ?? 'block'), body: pretty(block) };
    }
  });
}

/** The first of several places the adapters keep a tool's name, input and output. */
function toolParts(p: Obj): { name?: string; input?: unknown; output?: unknown; error?: boolean } {
  const item = obj(p.item); // codex
  const part = obj(p.part); // opencode
  const state = obj(part.state);
  const cursorCall = obj(p.tool_call); // cursor: { shellToolCall: { args, result } }
  const cursorName = Object.keys(cursorCall)[0];
  const cursor = obj(cursorName === undefined ? undefined : cursorCall[cursorName]);
  const name =
    str(p.tool_name) ?? str(p.toolName) ?? str(part.tool) ?? str(p.name) ?? (str(item.command) ? 'shell' : str(item.type)) ?? cursorName;
  const input = p.parameters ?? p.args ?? state.input ?? item.command ?? cursor.args ?? p.input;
  const output = p.output ?? p.result ?? state.output ?? state.error ?? item.aggregated_output ?? cursor.result ?? p.error;
  const error =
    p.status === 'error' ||
    state.status === 'error' ||
    p.isError === true ||
    (typeof item.exit_code === 'number' && item.exit_code !== 0) ||
    isObj(obj(cursor.result).error);
  return { name, input, output, error };
}

/**
 * What a tool gave back, after what it was given when the event says (some adapters, like opencode, print a
 * finished tool as one line, with no call before it).
 */
function resultBody(input: unknown, output: unknown, payload: Obj): string {
  if (output === undefined) return pretty(payload);
  return input === undefined ? pretty(output) : `${typeof input === 'string' ? input : JSON.stringify(input)}\n→ ${pretty(output)}`;
}

/** Text said by a model, wherever the adapter keeps it. */
function modelText(p: Obj): string | undefined {
  return str(obj(p.item).text) ?? str(obj(p.part).text) ?? str(p.text) ?? contentText(p.content) ?? contentText(obj(p.message).content);
}

export function toEntries(event: Pick<StoredEvent, 'kind' | 'payload'>): Entry[] {
  const { kind, payload } = event;
  if (kind === 'stdout_line' || kind === 'stderr_line') {
    return [
      {
        type: kind === 'stdout_line' ? 'stdout' : 'stderr',
        title: kind === 'stdout_line' ? 'stdout' : 'stderr',
        body: typeof payload === 'string' ? payload : JSON.stringify(payload),
      },
    ];
  }
  if (!isObj(payload)) return [{ type: 'other', title: kind, body: pretty(payload) }];
  if (
    kind.startsWith('claude_') ||
    (kind !== 'tool_call' && kind !== 'tool_result' && (isObj(payload.message) || payload.type === 'result' || payload.subtype === 'init'))
  ) {
    const entries = claudeEntries(payload);
    if (entries && entries.length > 0) return entries;
  }
  if (kind === 'tool_call' || kind === 'tool_result') {
    const tool = toolParts(payload);
    return kind === 'tool_call'
      ? [{ type: 'tool_call', title: tool.name ?? 'tool', body: pretty(tool.input ?? payload) }]
      : [
          {
            type: 'tool_result',
            title: `${tool.name ?? 'Tool'} result`,
            body: resultBody(tool.input, tool.output, payload),
            error: tool.error,
          },
        ];
  }
  const text = modelText(payload);
  if (kind === 'run_complete')
    return [
      {
        type: 'result',
        title: 'Run complete',
        body: text ?? pretty(payload),
        error: payload.is_error === true || payload.status === 'error',
      },
    ];
  if (text !== undefined && text !== '')
    return [
      { type: str(payload.role) === 'user' || str(obj(payload.message).role) === 'user' ? 'meta' : 'text', title: 'assistant', body: text },
    ];
  return [{ type: 'other', title: str(payload.type) ?? kind, body: pretty(payload) }];
}

/** The event as one line of raw output: the line itself for stdout/stderr, else its JSON. */
export function rawLine(event: Pick<StoredEvent, 'kind' | 'payload'>): string {
  return typeof event.payload === 'string' ? event.payload : JSON.stringify(event.payload);
}
