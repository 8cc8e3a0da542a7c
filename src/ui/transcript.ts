/**
 * A job's events as a person reads them: assistant text, thinking, tool calls and their results, the final result,
 * and output lines. One function per family of agent output (claude's stream-json and the shapes the other
 * adapters pass through as `model_message`, `tool_call`, `tool_result`, `run_complete`); anything not recognised
 * is still shown, as its JSON. Pure data in, data out: steps.ts pairs calls with results, and rendering is the
 * page's, always as text.
 */
import type { StoredEvent } from '../control-plane/types.js';

export type EntryType = 'text' | 'thinking' | 'tool_call' | 'tool_result' | 'result' | 'meta' | 'stdout' | 'stderr' | 'other';

export interface Entry {
  type: EntryType;
  /** A short heading: the tool's name, "Result", the role… */
  title: string;
  /** What a tool was given, in a few words (the command, the file, the query): its step's heading. */
  summary?: string;
  /** The text shown: what was said, a tool's input (call) or output (result), an output line. */
  body: string;
  /** A tool that failed, a run that ended in error. */
  error?: boolean;
  /** The adapter's id of a tool call, on the call and on its result: what ties the two into one step. */
  toolId?: string;
  /** A command's exit code, when its result says. */
  exitCode?: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
export const pretty = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v, null, 2) ?? String(v)));
const firstString = (...values: unknown[]): string | undefined => values.map(str).find((v) => v !== undefined && v !== '');

/** Text from a content field that is a string, or a list of blocks with text in them. */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts = content
    .map((block) => (typeof block === 'string' ? block : str(obj(block).text)))
    .filter((t): t is string => t !== undefined);
  return texts.length > 0 ? texts.join('\n') : undefined;
}

/** `/bin/bash -lc 'npm test'` reads as `npm test`: codex wraps every command in a login shell. */
const SHELL_WRAPPED = /^(?:\/(?:usr\/)?bin\/)?(?:ba|z)?sh -l?c '((?:[^']|'\\'')*)'$/;

function commandText(command: unknown): string | undefined {
  if (Array.isArray(command)) {
    const parts = command.map(String);
    const [program = '', flag = '', script] = parts;
    const shell = parts.length === 3 && /(?:^|\/)(?:ba|z)?sh$/.test(program) && /^-l?c$/.test(flag);
    return shell ? script : parts.join(' ');
  }
  const text = str(command);
  const script = text === undefined ? undefined : SHELL_WRAPPED.exec(text)?.[1];
  return script === undefined ? text : script.replaceAll("'\\''", "'");
}

/** A tool's input in a few words: the command, else the file, the pattern, the query or the address it worked on. */
export function toolSummary(input: unknown): string | undefined {
  if (typeof input === 'string') return commandText(input)?.split('\n')[0];
  if (Array.isArray(input)) return commandText(input);
  if (!isObj(input)) return undefined;
  const command = commandText(input.command ?? input.cmd);
  if (command !== undefined) return command.split('\n')[0];
  const changes = Array.isArray(input.changes) ? input.changes.map((c) => str(obj(c).path)).filter(Boolean) : [];
  if (changes.length > 0) return changes.join(', ');
  return firstString(
    input.file_path,
    input.filePath,
    input.path,
    input.notebook_path,
    input.pattern,
    input.query,
    input.url,
    input.description,
    input.prompt,
  )?.split('\n')[0];
}

/** What a tool gave back, as text: its output, stdout and stderr, or its error's message. */
function outputText(output: unknown): string {
  if (output === undefined || output === null) return '';
  const content = contentText(output);
  if (content !== undefined) return content;
  if (!isObj(output)) return pretty(output);
  if (isObj(output.success)) return outputText(output.success);
  if (isObj(output.error)) return firstString(output.error.errorMessage, output.error.message) ?? pretty(output.error);
  const streams = [str(output.stdout), str(output.stderr)].filter((s): s is string => s !== undefined && s !== '');
  if (streams.length > 0 || 'stdout' in output) return streams.join('\n');
  return contentText(output.content) ?? firstString(output.message, output.errorMessage) ?? pretty(output);
}

/**
 * A tool's input as a person reads it: `key: value` lines for an object of plain values (strings as they are,
 * a long one on the lines below its key), else its JSON.
 */
export function inputText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (!isObj(input) || Object.values(input).some((v) => typeof v === 'object' && v !== null)) return pretty(input);
  return Object.entries(input)
    .map(([key, value]) => {
      const text = String(value);
      return text.includes('\n') ? `${key}:\n${text.replace(/^/gm, '  ')}` : `${key}: ${text}`;
    })
    .join('\n');
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
  if (role === 'toolResult') {
    // pi: a tool's result as a message of its own.
    return [
      {
        type: 'tool_result',
        title: str(message.toolName) ?? 'Tool',
        body: contentText(message.content) ?? '',
        error: message.isError === true,
        toolId: str(message.toolCallId),
      },
    ];
  }
  return message.content.map((raw): Entry => {
    const block = obj(raw);
    switch (block.type) {
      case 'text':
        return { type: role === 'user' ? 'meta' : 'text', title: role, body: str(block.text) ?? '' };
      case 'thinking':
        return { type: 'thinking', title: 'Thinking', body: str(block.thinking) ?? str(block.text) ?? '' };
      case 'tool_use':
      case 'toolCall': {
        const input = block.input ?? block.arguments ?? {};
        return {
          type: 'tool_call',
          title: String(block.name ?? 'tool'),
          summary: toolSummary(input),
          body: inputText(input),
          toolId: str(block.id),
        };
      }
      case 'tool_result':
        return {
          type: 'tool_result',
          title: 'Tool',
          body: outputText(block.content),
          error: block.is_error === true,
          toolId: str(block.tool_use_id),
        };
      default:
        return { type: 'other', title: String(block.type ?? 'block'), body: pretty(block) };
    }
  });
}

/** The first of several places the adapters keep a tool's id, name, input and output. */
function toolParts(p: Obj): { id?: string; name?: string; input?: unknown; output?: unknown; error?: boolean; exitCode?: number } {
  const item = obj(p.item); // codex
  const old = obj(p.msg); // codex before v0.44
  const part = obj(p.part); // opencode
  const state = obj(part.state);
  const cursorCall = obj(p.tool_call); // cursor: { shellToolCall: { args, result } }
  const cursorName = Object.keys(cursorCall)[0];
  const cursor = obj(cursorName === undefined ? undefined : cursorCall[cursorName]);
  const cursorResult = obj(cursor.result);
  const id = firstString(p.tool_id, p.toolCallId, p.call_id, p.callID, part.callID, item.id, old.call_id, p.id);
  const name =
    firstString(p.tool_name, p.toolName, part.tool, p.name, item.tool) ??
    (item.command !== undefined || old.command !== undefined ? 'shell' : firstString(item.type, old.type)) ??
    cursorName;
  const input =
    p.parameters ?? p.args ?? state.input ?? item.command ?? item.arguments ?? item.query ?? old.command ?? cursor.args ?? p.input;
  const changes = Array.isArray(item.changes) ? { changes: item.changes } : undefined;
  const output =
    p.output ??
    p.result ??
    state.output ??
    state.error ??
    item.aggregated_output ??
    item.result ??
    (old.stdout !== undefined ? old : undefined) ??
    cursor.result ??
    p.error;
  const error =
    p.status === 'error' ||
    state.status === 'error' ||
    p.isError === true ||
    item.status === 'failed' ||
    (typeof item.exit_code === 'number' && item.exit_code !== 0) ||
    (typeof old.exit_code === 'number' && old.exit_code !== 0) ||
    isObj(cursorResult.error);
  const exitCode = num(item.exit_code) ?? num(old.exit_code) ?? num(obj(cursorResult.success).exitCode);
  return { id, name, input: input ?? changes, output, error, exitCode };
}

/** Text said by a model, wherever the adapter keeps it. */
function modelText(p: Obj): string | undefined {
  return (
    str(obj(p.item).text) ??
    str(obj(p.part).text) ??
    str(p.text) ??
    str(obj(p.msg).message) ??
    contentText(p.content) ??
    contentText(obj(p.message).content)
  );
}

/** Lines that only mark where a turn or step begins or ends, or that repeat what an earlier line said. */
const QUIET_TYPES = new Set(['turn.started', 'step_start', 'agent_start', 'turn_start', 'message_start', 'message_update', 'task_started']);
const REPEATS = new Set(['turn_end']); // pi: repeats the message that message_end gave

/** A run's last line: its text, or how many tokens it used. */
function runComplete(payload: Obj, text: string | undefined): Entry {
  const usage = obj(payload.usage);
  const input = num(usage.input_tokens);
  const output = num(usage.output_tokens);
  const tokens = input !== undefined && output !== undefined ? ` · ${input} tokens in, ${output} out` : '';
  return {
    type: 'result',
    title: `Run complete${tokens}`,
    body: text ?? '',
    error: payload.is_error === true || payload.status === 'error' || payload.type === 'turn.failed',
  };
}

/** A plan or to-do list (codex `todo_list`): one line per item, ticked when done. */
function todoEntry(items: unknown[]): Entry {
  const lines = items.map((raw) => `${obj(raw).completed === true ? '☑' : '☐'} ${String(obj(raw).text ?? '')}`);
  return { type: 'meta', title: 'Plan', body: lines.join('\n') };
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
  const type = str(payload.type) ?? str(obj(payload.msg).type);
  // The raw view keeps them; the readable one leaves out what says nothing new.
  if (kind === 'model_message' && type !== undefined && (QUIET_TYPES.has(type) || REPEATS.has(type))) return [];
  if (
    kind.startsWith('claude_') ||
    (kind !== 'tool_call' &&
      kind !== 'tool_result' &&
      (isObj(payload.message) || type === 'result' || payload.subtype === 'init' || type === 'thinking'))
  ) {
    const entries = claudeEntries(payload);
    if (entries && entries.length > 0) return entries;
  }
  if (kind === 'tool_call' || kind === 'tool_result') {
    const tool = toolParts(payload);
    const common = { title: tool.name ?? 'Tool', summary: toolSummary(tool.input), toolId: tool.id };
    return kind === 'tool_call'
      ? [
          {
            type: 'tool_call',
            ...common,
            body: tool.input === undefined ? pretty(payload) : inputText(commandText(tool.input) ?? tool.input),
          },
        ]
      : [{ type: 'tool_result', ...common, body: outputText(tool.output), error: tool.error, exitCode: tool.exitCode }];
  }
  const text = modelText(payload);
  if (kind === 'run_complete') return [runComplete(payload, text)];
  const item = obj(payload.item);
  if (item.type === 'reasoning') return [{ type: 'thinking', title: 'Thinking', body: text ?? '' }];
  if (Array.isArray(item.items)) return [todoEntry(item.items)];
  if (text !== undefined && text !== '') {
    const role = str(payload.role) ?? str(obj(payload.message).role);
    return [{ type: role === 'user' ? 'meta' : 'text', title: role ?? 'assistant', body: text }];
  }
  return [{ type: 'other', title: type ?? kind, body: pretty(payload) }];
}

/**
 * The event as one line of raw output: the line itself for stdout/stderr, else its JSON, with the escape
 * character JSON writes as `\u001b` put back, so that colours inside it show as colours, not as codes.
 */
export function rawLine(event: Pick<StoredEvent, 'kind' | 'payload'>): string {
  if (typeof event.payload === 'string') return event.payload;
  // An escaped backslash before "u001b" (`\\u001b`) is text that says so, and stays.
  return JSON.stringify(event.payload).replace(/(?<!\\)((?:\\\\)*)\\u001b/g, '$1\x1b');
}
