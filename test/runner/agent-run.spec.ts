import { NEVER, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { claudeAdapter } from '../../src/agents/index.js';
import {
  agentRun,
  completionVerdict,
  runVerdict,
  type AgentRunDeps,
  type AgentRunEnd,
  type AgentRunOutput,
} from '../../src/runner/agent-run.js';
import { stopMessage } from '../../src/runner/stops.js';
import { SpawnError, type ProcessOutput } from '../../src/streams/process.js';
import { job } from '../agents/support.js';
import { agentOutput, scriptedSpawn } from '../support/scripted-agent.js';

const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const RESULT = { type: 'result', subtype: 'success', is_error: false, session_id: 's-1', total_cost_usd: 0.5, result: 'done' };

const out: Record<string, ProcessOutput> = {
  s: agentOutput.started(),
  a: agentOutput.stdout('hello\n'),
  r: agentOutput.stdout(`${JSON.stringify(RESULT)}\n`),
  e: agentOutput.stderr('warning: slow\n'),
  x: agentOutput.exit(0),
};

const deps = (spawn: AgentRunDeps['spawn']): AgentRunDeps => ({
  spawn,
  agentEnv: () => ({}),
  killGraceMs: 10,
  log: silentLog,
  output: { stdout: '/memory/out', stderr: '/memory/err' },
  instructionsPath: '/memory/instructions.md',
  noteLineChange: () => {},
});

const line = (kind: string, payload: unknown): AgentRunOutput => ({
  type: 'line',
  // A JSON line that needs no repair is sent as printed.
  event: (typeof payload === 'string' ? { kind, payload } : { kind, payload, printedJson: JSON.stringify(payload) }) as never,
});
const ended = (run: Partial<AgentRunEnd>): AgentRunOutput => ({ type: 'ended', run: { report: {}, stderrTail: [], ...run } });

describe('agentRun', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should emit each line as it is printed, then, last, the exit and what the adapter read', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { spawn } = scriptedSpawn(cold('s a 2ms e 2ms r 2ms (x|)', out));
      expectObservable(agentRun(job(), claudeAdapter, 'claude', NEVER, deps(spawn))).toBe('-a 2ms e 2ms r 2ms (z|)', {
        a: line('stdout_line', 'hello'),
        e: line('stderr_line', 'warning: slow'),
        r: line('claude_result', RESULT),
        z: ended({
          exit: { type: 'exit', code: 0, signal: null },
          report: { sessionId: 's-1', costMicros: 500_000, reportedError: false },
          stderrTail: ['warning: slow'],
        }),
      });
    });
  });

  it('should stop the agent when stop$ asks, saying so at once and in its end', () => {
    testScheduler.run(({ cold, hot, expectObservable, flush }) => {
      const { spawn, runs } = scriptedSpawn(cold('s a', out));
      expectObservable(agentRun(job(), claudeAdapter, 'claude', hot('-----t', { t: 'timeout' }), deps(spawn))).toBe('-a 3ms (tz|)', {
        a: line('stdout_line', 'hello'),
        t: { type: 'stopping', reason: 'timeout' },
        z: ended({ exit: { type: 'exit', code: null, signal: 'SIGTERM' }, stopReason: 'timeout' }),
      });
      flush();
      expect(runs[0]!.killed).toBe(true);
    });
  });

  it('should take no stop asked after the agent exited by itself, even while its group still prints', () => {
    testScheduler.run(({ cold, hot, expectObservable, flush }) => {
      // the exit at 3; what it started prints at 6 and is gone at 9; the stop at 5 comes too late
      const { spawn, runs } = scriptedSpawn(cold('s 2ms x 2ms a 2ms |', out));
      expectObservable(agentRun(job(), claudeAdapter, 'claude', hot('-----t', { t: 'server' }), deps(spawn))).toBe('------a 2ms (z|)', {
        a: line('stdout_line', 'hello'),
        z: ended({ exit: { type: 'exit', code: 0, signal: null } }),
      });
      flush();
      expect(runs[0]!.killed).toBe(false);
    });
  });

  it('should keep the last 20 lines of stderr that are not blank', () => {
    testScheduler.run(({ cold, flush }) => {
      const stderr = Array.from({ length: 25 }, (_, n) => `err ${n}\n  \n`).join('');
      const { spawn } = scriptedSpawn(cold('s e (x|)', { ...out, e: agentOutput.stderr(stderr) }));
      let end: AgentRunEnd | undefined;
      agentRun(job(), claudeAdapter, 'claude', NEVER, deps(spawn)).subscribe((output) => {
        if (output.type === 'ended') end = output.run;
      });
      flush();
      expect(end?.stderrTail).toEqual(Array.from({ length: 20 }, (_, n) => `err ${n + 5}`));
    });
  });

  it('should end with the start error, and no line, when the binary is missing', () => {
    testScheduler.run(({ expectObservable }) => {
      const missing = new SpawnError('claude', 'ENOENT', new Error('spawn claude ENOENT'));
      const run$ = agentRun(
        job(),
        claudeAdapter,
        'claude',
        NEVER,
        deps(() => throwError(() => missing)),
      );
      expectObservable(run$).toBe('(z|)', { z: ended({ startError: missing }) });
    });
  });
});

describe('runVerdict', () => {
  const verdict = (run: Partial<AgentRunEnd>) => runVerdict({ report: {}, stderrTail: [], ...run }, claudeAdapter, 'claude', 60);

  it('should say why the runner stopped the agent before anything the agent said', () => {
    const exit = { type: 'exit', code: null, signal: 'SIGTERM' } as const;
    expect(verdict({ exit, stopReason: 'timeout', report: { reportedError: true, errorText: 'boom' } })).toEqual({
      status: 'failed',
      exitCode: 143,
      errorMessage: stopMessage('timeout', 60),
    });
    expect(verdict({ exit, stopReason: 'server' })).toEqual({
      status: 'cancelled',
      exitCode: 143,
      errorMessage: stopMessage('server', 60),
    });
  });

  it("should take the agent's own verdict over a clean exit, then stderr over the exit code", () => {
    const exit = { type: 'exit', code: 0, signal: null } as const;
    expect(verdict({ exit, report: { reportedError: true, errorText: 'rate limited' } })).toEqual({
      status: 'failed',
      exitCode: 0,
      errorMessage: 'rate limited',
    });
    expect(verdict({ exit: { ...exit, code: 2 }, stderrTail: ['bad flag'] })).toEqual({
      status: 'failed',
      exitCode: 2,
      errorMessage: 'bad flag',
    });
    expect(verdict({ exit })).toEqual({ status: 'completed', exitCode: 0, errorMessage: null });
  });

  it('should name the missing binary and how to install it', () => {
    expect(verdict({ startError: new SpawnError('claude', 'ENOENT', undefined) })).toEqual({
      status: 'failed',
      exitCode: 127,
      errorMessage: `claude: command not found; ${claudeAdapter.installHint}`,
    });
  });
});

describe('completionVerdict', () => {
  const verdict = (run: Partial<AgentRunEnd>) =>
    completionVerdict({ report: {}, stderrTail: [], ...run }, claudeAdapter, 'claude', 60, Date.UTC(2026, 0, 1));
  const exit = { type: 'exit', code: 1, signal: null } as const;

  it('should say that a failure was a usage limit, with when it resets (UTC) or that the CLI did not say', () => {
    const words = "You've hit your 5-hour limit · resets 3pm (UTC)";
    expect(
      verdict({ exit, report: { reportedError: true, errorText: words, apiStatus: 429, limitResetsAt: Date.UTC(2026, 0, 1, 15) } }),
    ).toEqual({
      status: 'failed',
      exitCode: 1,
      errorMessage: `usage limit reached (resets at 2026-01-01T15:00:00.000Z): ${words}`,
      usageLimit: { resetsAt: Date.UTC(2026, 0, 1, 15) },
    });
    expect(
      verdict({ exit, report: { reportedError: true, errorText: 'API Error: Request rejected (429) · slow down', apiStatus: 429 } }),
    ).toEqual({
      status: 'failed',
      exitCode: 1,
      errorMessage: 'usage limit reached (the CLI gave no reset time): API Error: Request rejected (429) · slow down',
      usageLimit: { resetsAt: undefined },
    });
  });

  it('should leave every other verdict as runVerdict gives it: a 529, a timeout, a success', () => {
    const overloaded = { reportedError: true, errorText: 'API Error: 529 Overloaded', apiStatus: 529 };
    expect(verdict({ exit, report: overloaded }).errorMessage).toBe('API Error: 529 Overloaded');
    const limited = { reportedError: true, errorText: 'limit', apiStatus: 429 };
    expect(verdict({ exit, stopReason: 'timeout', report: limited }).errorMessage).toBe(stopMessage('timeout', 60));
    expect(verdict({ exit: { ...exit, code: 0 }, report: { reportedError: false, apiStatus: 429 } })).toEqual({
      status: 'completed',
      exitCode: 0,
      errorMessage: null,
    });
  });
});
