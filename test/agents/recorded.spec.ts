import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { claudeAdapter } from '../../src/agents/claude.js';
import { codexAdapter } from '../../src/agents/codex.js';
import { fixtures, kindsOf, reportOf } from './support.js';

/**
 * The adapters over streams the REAL CLIs printed (Claude Code 2.1.332 and Codex CLI 0.169.0, run offline by
 * `FOUNDEROS_RECORD_FIXTURES=1 npm run test:real-clis` against test/real-clis/fake-*.ts, scrubbed of machine paths
 * and ports): test/fixtures/<cli>/recorded-<scenario>.jsonl, with recorded-<scenario>.stderr.txt where the CLI's
 * stderr matters. The other fixtures are reconstructed from documentation; these are the ground truth.
 */
const stderrOf = (cli: string, name: string): string[] =>
  readFileSync(new URL(`../fixtures/${cli}/recorded-${name}.stderr.txt`, import.meta.url), 'utf8').split('\n').filter(Boolean);

describe('claude adapter over recorded Claude Code streams', () => {
  const recorded = (name: string) => fixtures('claude')(`recorded-${name}`);
  const report = (name: string) => reportOf(claudeAdapter, recorded(name));
  const kinds = (name: string) => kindsOf(claudeAdapter, recorded(name));
  const result = (name: string) => recorded(name).at(-1)!;
  const initSession = (name: string) => recorded(name)[0]!.session_id;

  it('should read a plain answer: session id from init, cost from total_cost_usd, no error', () => {
    expect(recorded('plain')[0]).toMatchObject({ type: 'system', subtype: 'init', cwd: '/w', claude_code_version: '2.1.332' });
    expect(kinds('plain')).toEqual(['claude_message', 'claude_message', 'claude_result']);
    const cost = result('plain').total_cost_usd as number;
    expect(cost).toBeGreaterThan(0);
    expect(report('plain')).toEqual({ sessionId: initSession('plain'), costMicros: Math.round(cost * 1_000_000), reportedError: false, errorText: undefined });
  });

  it('should see the tool use and its result: one assistant event per content block, the result in a user event', () => {
    // Text and tool_use of one model message arrive as two `assistant` events with the same message id.
    expect(kinds('tool-use')).toEqual(['claude_message', 'claude_message', 'claude_tool_use', 'claude_tool_result', 'claude_message', 'claude_result']);
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
    expect(failed).toEqual({ sessionId: id, costMicros: 0, reportedError: true, errorText: `No conversation found with session ID: ${id}` });
    expect(claudeAdapter.isUnknownSession!(failed, stderrOf('claude', 'unknown-session'))).toBe(true);
    expect(claudeAdapter.isUnknownSession!({}, stderrOf('claude', 'unknown-session'))).toBe(true);
  });

  it('should recognise the refusal of a session id that is not a UUID as an unknown session', () => {
    const failed = report('not-a-uuid-session');
    expect(failed).toMatchObject({ reportedError: true, errorText: expect.stringContaining('is not a UUID and does not match any session title') });
    expect(claudeAdapter.isUnknownSession!(failed, stderrOf('claude', 'not-a-uuid-session'))).toBe(true);
  });

  it('should fail a run that reached its max turns, with the reason from `errors`', () => {
    expect(result('max-turns')).toMatchObject({ subtype: 'error_max_turns', is_error: true });
    expect(report('max-turns')).toMatchObject({ reportedError: true, errorText: 'Reached maximum number of turns (1)' });
  });

  it('should fail an API error that the CLI reports as subtype "success" with is_error', () => {
    expect(result('api-error')).toMatchObject({ subtype: 'success', is_error: true, api_error_status: 529 });
    expect(report('api-error')).toMatchObject({ reportedError: true, costMicros: 0, errorText: expect.stringMatching(/^API Error: 529 Overloaded\. /) });
    expect(report('auth-failure')).toMatchObject({ reportedError: true, errorText: 'Invalid API key · Fix external API key' });
    expect(claudeAdapter.isUnknownSession!(report('api-error'), [])).toBe(false);
  });
});

describe('codex adapter over recorded Codex CLI streams', () => {
  const recorded = (name: string) => fixtures('codex')(`recorded-${name}`);
  const report = (name: string) => reportOf(codexAdapter, recorded(name));
  const kinds = (name: string) => kindsOf(codexAdapter, recorded(name));
  const thread = (name: string) => recorded(name)[0]!.thread_id;

  it('should read a plain answer: thread id, no cost, no error', () => {
    expect(kinds('plain')).toEqual(['model_message', 'model_message', 'model_message', 'run_complete']);
    expect(report('plain')).toEqual({ sessionId: thread('plain'), reportedError: false, errorText: undefined });
  });

  it('should see the command as a tool call and its completion as a tool result', () => {
    expect(kinds('tool-use')).toEqual(['model_message', 'model_message', 'tool_call', 'tool_result', 'model_message', 'run_complete']);
    expect(recorded('tool-use')[3]).toMatchObject({ item: { type: 'command_execution', aggregated_output: 'hi-from-codex\n', exit_code: 0 } });
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
      errorText: 'unexpected status 401 Unauthorized: Incorrect API key provided: sk-offl***************cret., url: http://127.0.0.1:8080/v1/responses, request id: req_fake_1',
    });
    expect(report('server-error')).toMatchObject({ reportedError: true, errorText: 'We’re currently experiencing high demand, which may cause temporary errors.' });
    expect(codexAdapter.isUnknownSession!(report('api-error'), [])).toBe(false);
  });
});
