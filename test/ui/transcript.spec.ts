/**
 * The readable transcript for every adapter: each fixture's lines are classified by the real adapter (as the
 * runner does), then turned into entries. A person must see the tool, what it was given, what came back, and what
 * the agent said.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  claudeAdapter,
  codexAdapter,
  cursorAdapter,
  geminiAdapter,
  opencodeAdapter,
  piAdapter,
  type AgentAdapter,
} from '../../src/agents/index.js';
import { rawLine, toEntries, type Entry } from '../../src/ui/transcript.js';

function transcriptOf(adapter: AgentAdapter, fixture: string): Entry[] {
  const lines = readFileSync(new URL(`../fixtures/${fixture}`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean);
  return lines.flatMap((line) => {
    const payload = JSON.parse(line) as Record<string, unknown>;
    return toEntries({ kind: adapter.kindOf(payload), payload });
  });
}

const find = (entries: Entry[], type: Entry['type']) => entries.filter((entry) => entry.type === type);

describe('readable transcript', () => {
  it.each([
    {
      adapter: claudeAdapter,
      fixture: 'claude/recorded-tool-use.jsonl',
      tool: 'Bash',
      input: 'echo hi-from-bash',
      output: 'hi-from-bash',
      said: 'The command printed hi-from-bash.',
    },
    {
      adapter: codexAdapter,
      fixture: 'codex/recorded-tool-use.jsonl',
      tool: 'shell',
      input: 'echo hi-from-codex',
      output: 'hi-from-codex',
      said: 'The command printed hi-from-codex.',
    },
    {
      adapter: geminiAdapter,
      fixture: 'gemini/tool-use.jsonl',
      tool: 'read_file',
      input: '/w/a.txt',
      output: 'File contents here',
      said: 'b.txt does not exist',
    },
    {
      adapter: opencodeAdapter,
      fixture: 'opencode/tool-use.jsonl',
      tool: 'bash',
      input: 'ls',
      output: 'README.md',
      said: 'The repository holds only README.md',
    },
    {
      adapter: piAdapter,
      fixture: 'pi/tool-use.jsonl',
      tool: 'read',
      input: '/tmp/test.txt',
      output: 'file contents',
      said: 'It says "file contents".',
    },
    {
      adapter: cursorAdapter,
      fixture: 'cursor/tool-use.jsonl',
      tool: 'shellToolCall',
      input: 'npm test',
      output: '12 passing',
      said: 'Running the tests.',
    },
  ])('should show $adapter.name tool calls, their results and what the agent said', ({ adapter, fixture, tool, input, output, said }) => {
    const entries = transcriptOf(adapter, fixture);
    // A call and its result, or (opencode) one finished tool holding both.
    const tools = [...find(entries, 'tool_call'), ...find(entries, 'tool_result')];
    expect(tools.some((entry) => entry.title.startsWith(tool) && entry.body.includes(input))).toBe(true);
    expect(find(entries, 'tool_result').some((result) => result.body.includes(output))).toBe(true);
    expect(find(entries, 'text').some((text) => text.body.includes(said))).toBe(true);
  });

  it('should mark failed tool results and error results', () => {
    expect(
      find(transcriptOf(geminiAdapter, 'gemini/tool-use.jsonl'), 'tool_result').some((r) => r.error && r.body.includes('File not found')),
    ).toBe(true);
    expect(
      find(transcriptOf(opencodeAdapter, 'opencode/tool-use.jsonl'), 'tool_result').some((r) => r.error && r.body.includes('missing.txt')),
    ).toBe(true);
    const [result] = toEntries({
      kind: 'claude_result',
      payload: { type: 'result', subtype: 'success', is_error: true, result: 'Failed to authenticate', total_cost_usd: 0.01 },
    });
    expect(result).toEqual({ type: 'result', title: 'Result: success · $0.0100', body: 'Failed to authenticate', error: true });
  });

  it('should keep output lines as they are, and show what it does not know as JSON', () => {
    expect(toEntries({ kind: 'stderr_line', payload: '\x1b[31mboom\x1b[0m' })).toEqual([
      { type: 'stderr', title: 'stderr', body: '\x1b[31mboom\x1b[0m' },
    ]);
    expect(toEntries({ kind: 'stdout_line', payload: { a: 1 } })[0]!.body).toBe('{"a":1}');
    expect(toEntries({ kind: 'model_message', payload: { type: 'mystery', n: 1 } })).toEqual([
      { type: 'other', title: 'mystery', body: '{\n  "type": "mystery",\n  "n": 1\n}' },
    ]);
    expect(toEntries({ kind: 'model_message', payload: 'not json' })).toEqual([
      { type: 'other', title: 'model_message', body: 'not json' },
    ]);
  });

  it('should give the raw line of an event: the text itself, or its JSON on one line', () => {
    expect(rawLine({ kind: 'stdout_line', payload: 'hello' })).toBe('hello');
    expect(rawLine({ kind: 'claude_message', payload: { type: 'assistant', x: [1] } })).toBe('{"type":"assistant","x":[1]}');
  });
});
