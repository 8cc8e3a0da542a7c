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
import { Timeline, type StepItem } from '../../src/ui/steps.js';
import { rawLine, toEntries, toolSummary, type Entry } from '../../src/ui/transcript.js';

function fixtureEvents(adapter: AgentAdapter, fixture: string) {
  const lines = readFileSync(new URL(`../fixtures/${fixture}`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean);
  return lines.map((line, seq) => {
    const payload = JSON.parse(line) as Record<string, unknown>;
    return { eventId: `e${seq}`, attempt: 1, seq, kind: adapter.kindOf(payload), ts: new Date(1_000 * seq).toISOString(), payload };
  });
}

function transcriptOf(adapter: AgentAdapter, fixture: string): Entry[] {
  return fixtureEvents(adapter, fixture).flatMap(toEntries);
}

function stepsOf(adapter: AgentAdapter, fixture: string): StepItem[] {
  const timeline = new Timeline(toEntries);
  timeline.append(fixtureEvents(adapter, fixture));
  return timeline.items.filter((item): item is StepItem => item.kind === 'step');
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
  ])(
    'should show $adapter.name tool calls as steps with their results, and what the agent said',
    ({ adapter, fixture, tool, input, output, said }) => {
      // A call and its result are one step, found by the adapter's tool id (or, for opencode, one finished tool).
      const step = stepsOf(adapter, fixture).find((s) => s.name === tool);
      expect(step?.summary).toBe(input);
      expect(step?.result?.entry.body).toContain(output);
      expect(find(transcriptOf(adapter, fixture), 'text').some((text) => text.body.includes(said))).toBe(true);
    },
  );

  it.each([
    [claudeAdapter, 'claude/recorded-tool-use.jsonl', 1],
    [codexAdapter, 'codex/recorded-tool-use.jsonl', 1],
    [geminiAdapter, 'gemini/tool-use.jsonl', 2],
    [opencodeAdapter, 'opencode/tool-use.jsonl', 2],
    [piAdapter, 'pi/tool-use.jsonl', 1],
    [cursorAdapter, 'cursor/tool-use.jsonl', 2],
  ] as const)('should make one step per tool call of %o, however often the adapter repeats it', (adapter, fixture, count) => {
    const steps = stepsOf(adapter, fixture);
    expect(steps).toHaveLength(count);
    expect(steps.every((s) => s.result !== undefined)).toBe(true);
  });

  it('should mark failed tool results and error results', () => {
    expect(
      find(transcriptOf(geminiAdapter, 'gemini/tool-use.jsonl'), 'tool_result').some((r) => r.error && r.body.includes('File not found')),
    ).toBe(true);
    expect(
      find(transcriptOf(opencodeAdapter, 'opencode/tool-use.jsonl'), 'tool_result').some((r) => r.error && r.summary === '/w/missing.txt'),
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

  it('should say what a tool was given in a few words: the command (out of its shell), else the file or the query', () => {
    expect(toolSummary({ command: 'npm test\nnpm run lint', description: 'Run tests' })).toBe('npm test');
    expect(toolSummary("/bin/bash -lc 'echo it'\\''s'")).toBe("echo it's");
    expect(toolSummary(['bash', '-lc', 'cargo test'])).toBe('cargo test');
    expect(toolSummary({ file_path: '/w/a.txt' })).toBe('/w/a.txt');
    expect(toolSummary({ changes: [{ path: 'a.rs' }, { path: 'b.rs' }] })).toBe('a.rs, b.rs');
    expect(toolSummary({ number: 42 })).toBeUndefined();
  });

  it("should read a tool's output from stdout and stderr, a success or an error object", () => {
    const [codexOld] = toEntries({
      kind: 'tool_result',
      payload: { id: '1', msg: { type: 'exec_command_end', call_id: 'c', stdout: 'ok', stderr: 'warn', exit_code: 2 } },
    });
    expect(codexOld).toMatchObject({ body: 'ok\nwarn', error: true, exitCode: 2, toolId: 'c' });
    const [cursor] = toEntries({
      kind: 'tool_result',
      payload: {
        type: 'tool_call',
        call_id: 'c1',
        tool_call: { shellToolCall: { args: { command: 'ls' }, result: { success: { exitCode: 0, stdout: 'a\nb' } } } },
      },
    });
    expect(cursor).toMatchObject({ title: 'shellToolCall', summary: 'ls', body: 'a\nb', exitCode: 0, error: false });
  });

  it('should leave out of the readable view the lines that only mark a turn, or repeat an earlier one', () => {
    expect(toEntries({ kind: 'model_message', payload: { type: 'turn.started' } })).toEqual([]);
    expect(
      toEntries({
        kind: 'model_message',
        payload: { type: 'turn_end', message: { role: 'assistant', content: [{ type: 'text', text: 'again' }] } },
      }),
    ).toEqual([]);
  });

  it('should give the raw line of an event: the text itself, or its JSON on one line', () => {
    expect(rawLine({ kind: 'stdout_line', payload: 'hello' })).toBe('hello');
    expect(rawLine({ kind: 'claude_message', payload: { type: 'assistant', x: [1] } })).toBe('{"type":"assistant","x":[1]}');
    // Colours inside the JSON show as colours: the escape JSON writes as \u001b is put back; a backslash written
    // before "u001b" stays text.
    expect(rawLine({ kind: 'claude_message', payload: { out: '\x1b[32mok\x1b[0m', text: '\\u001b' } })).toBe(
      '{"out":"\x1b[32mok\x1b[0m","text":"\\\\u001b"}',
    );
  });
});
