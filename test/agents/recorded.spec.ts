import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { claudeAdapter } from '../../src/agents/claude.js';
import { codexAdapter } from '../../src/agents/codex.js';
import { geminiAdapter } from '../../src/agents/gemini.js';
import type { AgentAdapter } from '../../src/agents/index.js';
import { opencodeAdapter } from '../../src/agents/opencode.js';
import { piAdapter } from '../../src/agents/pi.js';
import { fixtures, kindsOf, reportOf } from './support.js';

/**
 * The adapters over streams the REAL CLIs printed (Claude Code 2.1.332, Codex CLI 0.169.0, Gemini CLI 0.61.0,
 * OpenCode 1.18.33 and pi 0.74.2, run offline by
 * `FOUNDEROS_RECORD_FIXTURES=1 npm run test:real-clis` against test/real-clis/fake-*.ts, scrubbed of machine paths
 * and ports): test/fixtures/<cli>/recorded-<scenario>.jsonl, with recorded-<scenario>.stderr.txt where the CLI's
 * stderr matters. The other fixtures are reconstructed from documentation; these are the ground truth.
 */
const stderrOf = (cli: string, name: string): string[] =>
  readFileSync(new URL(`../fixtures/${cli}/recorded-${name}.stderr.txt`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean);

/** A CLI's recorded streams, and what its adapter reads from each: the report it folds and the kinds it gives. */
const recordedStreams = (cli: string, adapter: AgentAdapter) => {
  const recorded = (name: string) => fixtures(cli)(`recorded-${name}`);
  return {
    recorded,
    report: (name: string) => reportOf(adapter, recorded(name)),
    kinds: (name: string) => kindsOf(adapter, recorded(name)),
  };
};

describe('claude adapter over recorded Claude Code streams', () => {
  const { recorded, report, kinds } = recordedStreams('claude', claudeAdapter);
  const result = (name: string) => recorded(name).at(-1)!;
  const initSession = (name: string) => recorded(name)[0]!.session_id;

  it('should read a plain answer: session id from init, cost from total_cost_usd, no error', () => {
    expect(recorded('plain')[0]).toMatchObject({ type: 'system', subtype: 'init', cwd: '/w', claude_code_version: '2.1.332' });
    expect(kinds('plain')).toEqual(['claude_message', 'claude_message', 'claude_result']);
    const cost = result('plain').total_cost_usd as number;
    expect(cost).toBeGreaterThan(0);
    expect(report('plain')).toEqual({
      sessionId: initSession('plain'),
      costMicros: Math.round(cost * 1_000_000),
      reportedError: false,
      errorText: undefined,
    });
  });

  it('should see the tool use and its result: one assistant event per content block, the result in a user event', () => {
    // Text and tool_use of one model message arrive as two `assistant` events with the same message id.
    expect(kinds('tool-use')).toEqual([
      'claude_message',
      'claude_message',
      'claude_tool_use',
      'claude_tool_result',
      'claude_message',
      'claude_result',
    ]);
    expect(report('tool-use')).toMatchObject({ sessionId: initSession('tool-use'), reportedError: false });
    expect(report('tool-use').costMicros).toBeGreaterThan(0);
  });

  it('should call a run whose tool was refused headless a success, as the CLI does (permission_denials lists it)', () => {
    expect(kinds('permission-denied')).toContain('claude_tool_result');
    expect(result('permission-denied').permission_denials).toEqual([expect.objectContaining({ tool_name: 'Bash' })]);
    expect(report('permission-denied')).toMatchObject({ reportedError: false });
  });

  it('should keep the session id of a resumed session', () => {
    expect(report('resume')).toMatchObject({ sessionId: initSession('resume'), reportedError: false });
    expect(recorded('resume').every((line) => line.session_id === initSession('resume'))).toBe(true);
  });

  it('should recognise an unknown session from `errors` (no `result` text) and from stderr', () => {
    expect(kinds('unknown-session')).toEqual(['claude_result']);
    const failed = report('unknown-session');
    const id = result('unknown-session').session_id as string;
    expect(failed).toEqual({
      sessionId: id,
      costMicros: 0,
      reportedError: true,
      errorText: `No conversation found with session ID: ${id}`,
    });
    expect(claudeAdapter.isUnknownSession!(failed, stderrOf('claude', 'unknown-session'))).toBe(true);
    expect(claudeAdapter.isUnknownSession!({}, stderrOf('claude', 'unknown-session'))).toBe(true);
  });

  it('should recognise the refusal of a session id that is not a UUID as an unknown session', () => {
    const failed = report('not-a-uuid-session');
    expect(failed).toMatchObject({
      reportedError: true,
      errorText: expect.stringContaining('is not a UUID and does not match any session title'),
    });
    expect(claudeAdapter.isUnknownSession!(failed, stderrOf('claude', 'not-a-uuid-session'))).toBe(true);
  });

  it('should fail a run that reached its max turns, with the reason from `errors`', () => {
    expect(result('max-turns')).toMatchObject({ subtype: 'error_max_turns', is_error: true });
    expect(report('max-turns')).toMatchObject({ reportedError: true, errorText: 'Reached maximum number of turns (1)' });
  });

  it('should fail an API error that the CLI reports as subtype "success" with is_error', () => {
    expect(result('api-error')).toMatchObject({ subtype: 'success', is_error: true, api_error_status: 529 });
    expect(report('api-error')).toMatchObject({
      reportedError: true,
      costMicros: 0,
      errorText: expect.stringMatching(/^API Error: 529 Overloaded\. /),
    });
    expect(report('auth-failure')).toMatchObject({ reportedError: true, errorText: 'Invalid API key · Fix external API key' });
    expect(claudeAdapter.isUnknownSession!(report('api-error'), [])).toBe(false);
  });
});

describe('codex adapter over recorded Codex CLI streams', () => {
  const { recorded, report, kinds } = recordedStreams('codex', codexAdapter);
  const thread = (name: string) => recorded(name)[0]!.thread_id;

  it('should read a plain answer: thread id, no cost, no error', () => {
    expect(kinds('plain')).toEqual(['model_message', 'model_message', 'model_message', 'run_complete']);
    expect(report('plain')).toEqual({ sessionId: thread('plain'), reportedError: false, errorText: undefined });
  });

  it('should see the command as a tool call and its completion as a tool result', () => {
    expect(kinds('tool-use')).toEqual(['model_message', 'model_message', 'tool_call', 'tool_result', 'model_message', 'run_complete']);
    expect(recorded('tool-use')[3]).toMatchObject({
      item: { type: 'command_execution', aggregated_output: 'hi-from-codex\n', exit_code: 0 },
    });
    expect(report('tool-use')).toEqual({ sessionId: thread('tool-use'), reportedError: false, errorText: undefined });
  });

  it('should keep the thread id of a resumed thread (thread.started is printed again)', () => {
    expect(report('resume')).toMatchObject({ sessionId: thread('resume'), reportedError: false });
  });

  it('should recognise an unknown thread from stderr alone: codex prints no JSON then', () => {
    expect(recorded('unknown-session')).toEqual([]);
    expect(codexAdapter.isUnknownSession!({}, stderrOf('codex', 'unknown-session'))).toBe(true);
  });

  it('should fail an API error with the message of turn.failed', () => {
    expect(kinds('api-error')).toEqual(['model_message', 'model_message', 'model_message', 'run_complete']);
    expect(report('api-error')).toEqual({
      sessionId: thread('api-error'),
      reportedError: true,
      errorText:
        'unexpected status 401 Unauthorized: Incorrect API key provided: sk-offl***************cret., url: http://127.0.0.1:8080/v1/responses, request id: req_fake_1',
    });
    expect(report('server-error')).toMatchObject({
      reportedError: true,
      errorText: 'We’re currently experiencing high demand, which may cause temporary errors.',
    });
    expect(codexAdapter.isUnknownSession!(report('api-error'), [])).toBe(false);
  });
});

describe('gemini adapter over recorded Gemini CLI streams', () => {
  const { recorded, report, kinds } = recordedStreams('gemini', geminiAdapter);
  const initSession = (name: string) => recorded(name)[0]!.session_id;

  it('should read a plain answer: session id from init, the user echo and two deltas as messages, no cost', () => {
    expect(recorded('plain')[0]).toMatchObject({ type: 'init', model: 'gemini-2.5-flash' });
    expect(kinds('plain')).toEqual(['model_message', 'model_message', 'model_message', 'model_message', 'run_complete']);
    expect(report('plain')).toEqual({ sessionId: initSession('plain'), reportedError: false, errorText: undefined });
  });

  it('should see the tool use and its result (whose output the stream leaves empty)', () => {
    expect(kinds('tool-use')).toEqual([
      'model_message',
      'model_message',
      'tool_call',
      'tool_result',
      'model_message',
      'model_message',
      'run_complete',
    ]);
    expect(recorded('tool-use')[3]).toMatchObject({
      type: 'tool_result',
      tool_id: recorded('tool-use')[2]!.tool_id,
      status: 'success',
      output: '',
    });
    expect(report('tool-use')).toEqual({ sessionId: initSession('tool-use'), reportedError: false, errorText: undefined });
  });

  it('should keep the session id of a resumed session', () => {
    expect(report('resume')).toMatchObject({ sessionId: initSession('resume'), reportedError: false });
  });

  it('should recognise an unknown session from stderr alone: gemini prints no JSON then', () => {
    expect(recorded('unknown-session')).toEqual([]);
    expect(geminiAdapter.isUnknownSession!({}, stderrOf('gemini', 'unknown-session'))).toBe(true);
  });

  it('should fail an API error with the message of the result, which carries the API’s own answer', () => {
    expect(kinds('auth-failure')).toEqual(['model_message', 'model_message', 'run_complete']);
    expect(report('auth-failure')).toEqual({
      sessionId: initSession('auth-failure'),
      reportedError: true,
      errorText:
        '[API Error: {"error":{"code":401,"message":"API key not valid. Please pass a valid API key.","status":"UNAUTHENTICATED"}}]',
    });
    expect(report('api-error')).toMatchObject({ reportedError: true, errorText: expect.stringContaining('"code":500') });
    expect(geminiAdapter.isUnknownSession!(report('api-error'), stderrOf('gemini', 'api-error'))).toBe(false);
  });
});

describe('opencode adapter over recorded OpenCode streams', () => {
  const { recorded, report, kinds } = recordedStreams('opencode', opencodeAdapter);
  const session = (name: string) => recorded(name)[0]!.sessionID;

  it('should read a plain answer: session id from every line, the cost of the step (0 for an unknown model)', () => {
    expect(kinds('plain')).toEqual(['model_message', 'model_message', 'run_complete']);
    expect(report('plain')).toEqual({ sessionId: session('plain'), costMicros: 0 });
  });

  it('should see a tool once, finished, as a tool result; a step ending in tool calls is not the end', () => {
    expect(kinds('tool-use')).toEqual(['model_message', 'tool_result', 'model_message', 'model_message', 'model_message', 'run_complete']);
    expect(recorded('tool-use')[1]).toMatchObject({ part: { tool: 'bash', state: { status: 'completed', output: 'hi-from-opencode\n' } } });
    expect(recorded('tool-use')[2]).toMatchObject({ type: 'step_finish', part: { reason: 'tool-calls' } });
    expect(report('tool-use')).toEqual({ sessionId: session('tool-use'), costMicros: 0 });
  });

  it('should keep the session id of a resumed session', () => {
    expect(report('resume')).toMatchObject({ sessionId: session('resume') });
  });

  it('should recognise an unknown session from its coloured stderr line: opencode prints no JSON then', () => {
    expect(recorded('unknown-session')).toEqual([]);
    expect(opencodeAdapter.isUnknownSession!({}, stderrOf('opencode', 'unknown-session'))).toBe(true);
  });

  it('should fail an API error with the name and message of the error event, its only line', () => {
    expect(kinds('auth-failure')).toEqual(['model_message']);
    expect(report('auth-failure')).toEqual({
      sessionId: session('auth-failure'),
      reportedError: true,
      errorText: 'APIError: Incorrect API key provided.',
      apiStatus: 401,
    });
    expect(report('api-error')).toMatchObject({
      reportedError: true,
      errorText: 'APIError: The server had an error while processing your request.',
    });
    expect(opencodeAdapter.isUnknownSession!(report('api-error'), [])).toBe(false);
  });
});

describe('pi adapter over recorded pi streams', () => {
  const { recorded, report, kinds } = recordedStreams('pi', piAdapter);
  const session = (name: string) => recorded(name)[0]!.id;
  const allButLast = (name: string) => kinds(name).slice(0, -1);

  it('should read a plain answer: session id from the header, the cost of the message (0 for a custom model)', () => {
    expect(recorded('plain')[0]).toMatchObject({ type: 'session', cwd: '/w' });
    expect(kinds('plain').at(-1)).toBe('run_complete');
    expect(allButLast('plain').every((kind) => kind === 'model_message')).toBe(true);
    expect(report('plain')).toEqual({ sessionId: session('plain'), costMicros: 0, reportedError: false, errorText: undefined });
  });

  it('should see the tool’s start as a tool call and its end as a tool result', () => {
    const toolKinds = kinds('tool-use').filter((kind) => kind.startsWith('tool_'));
    expect(toolKinds.at(-1)).toBe('tool_result');
    expect(toolKinds.slice(0, -1).every((kind) => kind === 'tool_call')).toBe(true);
    expect(recorded('tool-use').find((line) => line.type === 'tool_execution_end')).toMatchObject({ toolName: 'bash', isError: false });
    expect(report('tool-use')).toEqual({ sessionId: session('tool-use'), costMicros: 0, reportedError: false, errorText: undefined });
  });

  it('should keep the session id of a resumed session', () => {
    expect(report('resume')).toMatchObject({ sessionId: session('resume'), reportedError: false });
  });

  it('should recognise an unknown session from stderr alone: pi prints no JSON then', () => {
    expect(recorded('unknown-session')).toEqual([]);
    expect(piAdapter.isUnknownSession!({}, stderrOf('pi', 'unknown-session'))).toBe(true);
  });

  it('should fail a rejected key from the stop reason, though pi exits 0', () => {
    expect(report('auth-failure')).toEqual({
      sessionId: session('auth-failure'),
      costMicros: 0,
      reportedError: true,
      errorText: '401 Incorrect API key provided.',
    });
    expect(piAdapter.isUnknownSession!(report('auth-failure'), [])).toBe(false);
  });

  it('should fail a server error whose retry gave up; the first attempt’s agent_end is a run_complete too', () => {
    expect(kinds('api-error').filter((kind) => kind === 'run_complete')).toHaveLength(2);
    expect(recorded('api-error').at(-1)).toMatchObject({ type: 'auto_retry_end', success: false });
    expect(report('api-error')).toMatchObject({
      reportedError: true,
      errorText: '500 The server had an error while processing your request.',
    });
  });
});

/**
 * Usage limits as the real CLIs report them when their model API answers 429 (recorded against the fake APIs'
 * `rateLimit`, `subscriptionLimit`, `usageLimitReached`, `insufficientQuota`, `rateLimitExceeded` and `quotaExhausted`
 * replies, which copy each provider's headers and error bodies). `now` is when the runner reads the run's end.
 */
describe('usage limits in recorded streams', () => {
  const limitOf = (cli: string, adapter: AgentAdapter, name: string, now: number, stderr: string[] = []) =>
    adapter.usageLimit!(reportOf(adapter, fixtures(cli)(`recorded-${name}`)), stderr, now);
  const lastLine = (cli: string, name: string) => fixtures(cli)(`recorded-${name}`).at(-1)!;
  const now = Date.UTC(2026, 11, 7, 11, 40);

  it('claude: a subscription’s spent window, with the reset of its rate_limit_event; an API key’s 429, with none', () => {
    const event = fixtures('claude')('recorded-usage-limit').find((line) => line.type === 'rate_limit_event')!;
    const resetsAt = (event.rate_limit_info as { resetsAt: number }).resetsAt * 1000;
    expect(lastLine('claude', 'usage-limit')).toMatchObject({
      api_error: 'usage_limit_reached',
      result: expect.stringMatching(/^You've hit your 5-hour limit · resets /),
    });
    expect(limitOf('claude', claudeAdapter, 'usage-limit', resetsAt - 3 * 3600_000)).toEqual({ resetsAt });
    expect(limitOf('claude', claudeAdapter, 'rate-limit', now)).toEqual({ resetsAt: undefined });
  });

  it('codex: a plan’s limit at the local time it names; an API key’s quota and a spent rate limit, with none', () => {
    const said = /try again at (\d+):(\d{2}) (AM|PM)\.$/.exec(
      String((lastLine('codex', 'usage-limit').error as { message: string }).message),
    )!;
    const morning = new Date(2026, 11, 7, 9, 0).getTime();
    const hour = (Number(said[1]) % 12) + (said[3] === 'PM' ? 12 : 0);
    expect(limitOf('codex', codexAdapter, 'usage-limit', morning)).toEqual({
      resetsAt: new Date(2026, 11, 7, hour, Number(said[2])).getTime(),
    });
    expect(limitOf('codex', codexAdapter, 'quota', now)).toEqual({ resetsAt: undefined });
    expect(limitOf('codex', codexAdapter, 'rate-limit', now)).toEqual({ resetsAt: undefined });
  });

  it('gemini: a per-minute quota at the retry delay the CLI suggests; a daily quota with none', () => {
    expect(limitOf('gemini', geminiAdapter, 'rate-limit', now, stderrOf('gemini', 'rate-limit'))).toEqual({ resetsAt: now + 37_000 });
    expect(limitOf('gemini', geminiAdapter, 'daily-quota', now, stderrOf('gemini', 'daily-quota'))).toEqual({ resetsAt: undefined });
  });

  it('opencode: a rate limit at the reset of its spent requests, from the headers in the error event; a quota with none', () => {
    const error = lastLine('opencode', 'rate-limit') as { timestamp: number };
    expect(limitOf('opencode', opencodeAdapter, 'rate-limit', error.timestamp)).toEqual({ resetsAt: error.timestamp + 20_000 });
    expect(limitOf('opencode', opencodeAdapter, 'quota', now)).toEqual({ resetsAt: undefined });
  });

  it('pi: a rate limit at the wait the API’s message names; a quota with none', () => {
    expect(limitOf('pi', piAdapter, 'rate-limit', now)).toEqual({ resetsAt: now + 20_000 });
    expect(limitOf('pi', piAdapter, 'quota', now)).toEqual({ resetsAt: undefined });
  });

  it('should call no other failure a usage limit: rejected keys, server errors, overload, unknown sessions, max turns', () => {
    const others: [string, AgentAdapter, string[]][] = [
      ['claude', claudeAdapter, ['api-error', 'auth-failure', 'max-turns', 'unknown-session']],
      ['codex', codexAdapter, ['api-error', 'server-error', 'unknown-session']],
      ['gemini', geminiAdapter, ['api-error', 'auth-failure', 'unknown-session']],
      ['opencode', opencodeAdapter, ['api-error', 'auth-failure', 'unknown-session']],
      ['pi', piAdapter, ['api-error', 'auth-failure', 'unknown-session']],
    ];
    for (const [cli, adapter, names] of others) {
      for (const name of names) {
        const stderr = name === 'unknown-session' ? stderrOf(cli, name) : [];
        expect(limitOf(cli, adapter, name, now, stderr), `${cli} ${name}`).toBeUndefined();
      }
    }
  });
});
