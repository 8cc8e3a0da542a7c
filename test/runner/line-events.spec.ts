import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NEVER, concat, lastValueFrom, of, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { claudeAdapter } from '../../src/agents/index.js';
import { findUnstorable } from '../../src/protocol/storable-json.js';
import { agentRun, type AgentRunDeps, type AgentRunOutput } from '../../src/runner/agent-run.js';
import { lineChangeLog, stderrEvent, stdoutEvent } from '../../src/runner/line-events.js';
import type { ProcessOutput, ProcessSpec } from '../../src/streams/process.js';
import { job } from '../agents/support.js';

const LONE_SURROGATE_ASSISTANT = '{"type":"assistant","message":{"content":[{"type":"text","text":"cut emoji \\ud83d"}]}}';
const LONE_SURROGATE_RESULT =
  '{"type":"result","subtype":"success","is_error":false,"result":"done \\udc00","session_id":"s-77","total_cost_usd":0.5}';
const NUL_KEY = '{"type":"assistant","k\\u0000":1}';
const DEEP = `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`;

function recordingLog() {
  const warnings: { message: string; fields: unknown }[] = [];
  const log = {
    debug: () => {},
    info: () => {},
    warn: (message: string, fields?: unknown) => warnings.push({ message, fields }),
    error: () => {},
  };
  return { log, warnings };
}

describe('stdoutEvent and stderrEvent: every line becomes one event the server can store', () => {
  it('should replace a lone surrogate in a claude line with U+FFFD, keeping its kind', () => {
    const { event, change } = stdoutEvent(LONE_SURROGATE_ASSISTANT, claudeAdapter);
    expect(event).toEqual({
      kind: 'claude_message',
      payload: { type: 'assistant', message: { content: [{ type: 'text', text: 'cut emoji \uFFFD' }] } },
    });
    expect(change).toMatchObject({ reason: 'lone_surrogate', detail: expect.stringContaining('message.content[0].text') });
  });

  it('should hand the adapter the result as printed, so that its session id and cost are still reported', () => {
    const { event, message } = stdoutEvent(LONE_SURROGATE_RESULT, claudeAdapter);
    expect(event.kind).toBe('claude_result');
    expect((event.payload as { result: string }).result).toBe('done \uFFFD');
    expect(claudeAdapter.report({}, message!)).toMatchObject({ sessionId: 's-77', costMicros: 500_000, reportedError: false });
  });

  it('should keep a JSON line that needs no repair as printed, to be sent as is', () => {
    const printed = '{"type":"assistant", "n": 1.50}';
    expect(stdoutEvent(printed, claudeAdapter).event).toEqual({
      kind: 'claude_message',
      payload: { type: 'assistant', n: 1.5 },
      printedJson: printed,
    });
  });

  it('should replace NUL in a key', () => {
    const { event, change } = stdoutEvent(NUL_KEY, claudeAdapter);
    expect(event.payload).toEqual({ type: 'assistant', 'k\uFFFD': 1 });
    expect(change?.reason).toBe('nul');
  });

  it('should keep JSON nested past the limit as a stdout_line holding its text, and still let the adapter read it', () => {
    const { event, message, change } = stdoutEvent(DEEP, claudeAdapter);
    expect(event).toEqual({ kind: 'stdout_line', payload: DEEP });
    expect(message).toBeDefined();
    expect(change?.reason).toBe('too_deep');
    // Serializing it is safe: it is a string.
    expect(JSON.stringify(event).length).toBeGreaterThan(DEEP.length);
  });

  it('should keep a deep line that also holds a NUL as text, never trying to repair the nesting', () => {
    const line = `{"k\\u0000":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect(stdoutEvent(line, claudeAdapter)).toMatchObject({
      event: { kind: 'stdout_line', payload: line },
      change: { reason: 'too_deep' },
    });
  });

  it('should replace a raw NUL byte in a text line, on stdout and on stderr', () => {
    expect(stdoutEvent('before\0after', claudeAdapter)).toEqual({
      event: { kind: 'stdout_line', payload: 'before\uFFFDafter' },
      change: { reason: 'nul', detail: 'a stdout_line held a NUL character' },
    });
    expect(stderrEvent('warn\0')).toEqual({
      event: { kind: 'stderr_line', payload: 'warn\uFFFD' },
      change: { reason: 'nul', detail: 'a stderr_line held a NUL character' },
    });
  });

  it('should keep JSON values that are not objects, and control characters, as text lines unchanged', () => {
    for (const line of ['[1,2]', '"str"', 'null', '42', '\x01'.repeat(1000), 'a\rb', '{"broken']) {
      expect(stdoutEvent(line, claudeAdapter)).toEqual({ event: { kind: 'stdout_line', payload: line } });
    }
  });

  it('should make every payload storable', () => {
    for (const line of [LONE_SURROGATE_ASSISTANT, LONE_SURROGATE_RESULT, NUL_KEY, DEEP, 'x\0y']) {
      expect(findUnstorable(stdoutEvent(line, claudeAdapter).event.payload)).toBeUndefined();
    }
  });
});

describe('lineChangeLog', () => {
  it('should say each reason once per job, with where it first happened', () => {
    const { log, warnings } = recordingLog();
    const note = lineChangeLog(log, 'job-1');
    for (const line of [NUL_KEY, 'x\0', LONE_SURROGATE_ASSISTANT, NUL_KEY, LONE_SURROGATE_RESULT, 'plain'])
      note(stdoutEvent(line, claudeAdapter).change);
    expect(warnings.map(({ message }) => message)).toEqual([
      expect.stringMatching(/^agent output changed so that the server can store it: a NUL character.*U\+FFFD \(said once per job\)$/),
      expect.stringMatching(/half of a UTF-16 surrogate pair/),
    ]);
    expect(warnings[0]!.fields).toEqual({ jobId: 'job-1', first: expect.stringContaining('["k\uFFFD"]') });
  });
});

describe('agentRun', () => {
  const spawnPrinting =
    (stdout: Buffer[], stderr: Buffer[] = []) =>
    (_spec: ProcessSpec): Observable<ProcessOutput> =>
      concat(
        of<ProcessOutput>({ type: 'started', pid: 1 }),
        of(...stdout.map((chunk): ProcessOutput => ({ type: 'stdout', chunk }))),
        of(...stderr.map((chunk): ProcessOutput => ({ type: 'stderr', chunk }))),
        of<ProcessOutput>({ type: 'exit', code: 0, signal: null }),
      );

  /** The events of a run, and how it ended (its last value). */
  const untilEnded = async (run$: Observable<AgentRunOutput>) => {
    const outputs = await lastValueFrom(run$.pipe(toArray()));
    const last = outputs.at(-1);
    if (last?.type !== 'ended') throw new Error('the run did not end with its end');
    return { events: outputs.flatMap((output) => (output.type === 'line' ? [output.event] : [])), run: last.run };
  };

  const deps = (spawn: AgentRunDeps['spawn'], extra: Partial<AgentRunDeps> = {}): AgentRunDeps => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-run-spec-'));
    const { log } = recordingLog();
    return {
      spawn,
      agentEnv: () => ({}),
      killGraceMs: 10,
      log,
      output: { stdout: join(dir, 'out'), stderr: join(dir, 'err') },
      instructionsPath: join(dir, 'job.instructions.md'),
      noteLineChange: lineChangeLog(log, 'j1'),
      ...extra,
    };
  };

  it('should turn every hostile line into one storable event and still report the session id and cost', async () => {
    const stdout = [
      Buffer.from(`${LONE_SURROGATE_ASSISTANT}\n${NUL_KEY}\n${DEEP}\n`),
      Buffer.from('raw \0 nul\r\nlone\rcr\n[1,2]\n"str"\nnull\n'),
      Buffer.from([0x68, 0x69, 0xff, 0x0a]),
      Buffer.from(`${LONE_SURROGATE_RESULT}\n`),
    ];
    const { events, run } = await untilEnded(
      agentRun(job(), claudeAdapter, 'claude', NEVER, deps(spawnPrinting(stdout, [Buffer.from('err\0\n')]))),
    );
    expect(events.map((event) => [event.kind, typeof event.payload === 'string' ? event.payload : '{…}'])).toEqual([
      ['claude_message', '{…}'],
      ['claude_message', '{…}'],
      ['stdout_line', DEEP],
      ['stdout_line', 'raw \uFFFD nul'],
      ['stdout_line', 'lone\rcr'],
      ['stdout_line', '[1,2]'],
      ['stdout_line', '"str"'],
      ['stdout_line', 'null'],
      ['stdout_line', 'hi\uFFFD'],
      ['claude_result', '{…}'],
      ['stderr_line', 'err\uFFFD'],
    ]);
    for (const event of events) expect(findUnstorable(event.payload)).toBeUndefined();
    expect(run.report).toMatchObject({ sessionId: 's-77', costMicros: 500_000, reportedError: false });
    expect(run.stderrTail).toEqual(['err\uFFFD']);
  });

  it('should write the instructions to the path it is given, byte for byte, private, and remove them when the run ends', async () => {
    // Bytes, not text: a byte that is not UTF-8 reaches the file as it came.
    const instructions = Buffer.concat([Buffer.from('Be terse. Ünïcode ✓\n'), Buffer.from([0xff])]);
    const runDeps = deps(
      (spec) => {
        const path = spec.args[spec.args.indexOf('--append-system-prompt-file') + 1]!;
        seen = { path, bytes: readFileSync(path), mode: statSync(path).mode & 0o777 };
        return spawnPrinting([])(spec);
      },
      { instructions },
    );
    let seen: { path: string; bytes: Buffer; mode: number } | undefined;
    await untilEnded(agentRun(job(), claudeAdapter, 'claude', NEVER, runDeps));
    expect(seen).toEqual({ path: runDeps.instructionsPath, bytes: instructions, mode: 0o600 });
    expect(existsSync(runDeps.instructionsPath)).toBe(false);
  });

  it('should fail the run before spawning when a job field would be read as a flag', async () => {
    let spawned = false;
    const { run } = await untilEnded(
      agentRun(
        job({ sessionId: '--dangerously-skip-permissions' }),
        claudeAdapter,
        'claude',
        NEVER,
        deps(() => ((spawned = true), NEVER)),
      ),
    );
    expect(spawned).toBe(false);
    expect((run.startError as Error).message).toMatch(/^sessionId "--dangerously-skip-permissions" starts with "-"/);
  });
});
