import { describe, expect, it } from 'vitest';
import { claudeAdapter } from '../../src/agents/claude.js';
import { fixtures, job, reportOf as reportFor, refusalOf, refusedField } from './support.js';

const readFixture = fixtures('claude');
const reportOf = (messages: Record<string, unknown>[]) => reportFor(claudeAdapter, messages);

describe('claude adapter', () => {
  it('should run headless stream-json with the prompt on stdin, never in argv', () => {
    const launch = claudeAdapter.launch(job(), {});
    expect(launch.args).toEqual(['--print', '--output-format', 'stream-json', '--verbose']);
    expect(launch.stdin).toBe('fix the bug');
  });

  it('should pass resume, model, max turns, instructions and one --add-dir per directory', () => {
    const launch = claudeAdapter.launch(
      job({ sessionId: 's-1', runtimeConfig: { model: 'sonnet', maxTurns: 7 }, addDirs: ['/a', '/b c'] }),
      { instructionsPath: '/tmp/x/instructions.md' },
    );
    expect(launch.args.slice(4)).toEqual([
      '--resume',
      's-1',
      '--model',
      'sonnet',
      '--max-turns',
      '7',
      '--append-system-prompt-file',
      '/tmp/x/instructions.md',
      '--add-dir',
      '/a',
      '--add-dir',
      '/b c',
    ]);
  });

  it('should map each kind of stream-json line to its event kind', () => {
    const kinds = readFixture('success').map((message) => claudeAdapter.kindOf(message));
    expect(kinds).toEqual(['claude_message', 'claude_message', 'claude_tool_use', 'claude_tool_result', 'claude_message', 'claude_result']);
  });

  it('should read session id and cost from a successful run', () => {
    expect(reportOf(readFixture('success'))).toEqual({
      sessionId: '6f1c2a44-0000-4000-8000-000000000001',
      costMicros: 41200,
      reportedError: false,
      errorText: undefined,
    });
  });

  it('should treat is_error on a "success" result as a failure, with its text', () => {
    expect(reportOf(readFixture('auth-failure'))).toMatchObject({
      reportedError: true,
      errorText: 'Failed to authenticate: OAuth session expired and could not be refreshed',
    });
  });

  it('should treat an error subtype as a failure even when is_error is false', () => {
    expect(reportOf([{ type: 'result', subtype: 'error_max_turns', is_error: false, session_id: 's' }])).toMatchObject({
      reportedError: true,
      errorText: 'claude reported error_max_turns',
    });
  });

  it('should keep the session id from the init event when the result has none', () => {
    expect(
      reportOf([
        { type: 'system', subtype: 'init', session_id: 'from-init' },
        { type: 'result', subtype: 'success' },
      ]).sessionId,
    ).toBe('from-init');
  });

  it('should recognise an unknown session in the result text or on stderr', () => {
    const isUnknown = claudeAdapter.isUnknownSession!;
    const dead = reportOf([
      {
        type: 'result',
        subtype: 'success',
        is_error: true,
        result: 'No conversation found with session ID: 6f1c2a44-0000-4000-8000-000000000001',
      },
    ]);
    expect(isUnknown(dead, [])).toBe(true);
    expect(isUnknown({}, ['No conversation found with session ID: 6f1c2a44'])).toBe(true);
    expect(isUnknown(reportOf(readFixture('auth-failure')), ['Error: something else'])).toBe(false);
  });

  it('should refuse a job field that starts with "-" instead of passing it as a flag, naming the field', () => {
    expect(refusalOf(claudeAdapter, { sessionId: '--dangerously-skip-permissions' })).toMatch(
      refusedField('sessionId', '--dangerously-skip-permissions'),
    );
    expect(refusalOf(claudeAdapter, { runtimeConfig: { model: '--permission-mode=bypassPermissions' } })).toMatch(
      refusedField('runtimeConfig.model', '--permission-mode=bypassPermissions'),
    );
    expect(refusalOf(claudeAdapter, { runtimeConfig: { maxTurns: -1 } })).toMatch(refusedField('runtimeConfig.maxTurns', '-1'));
    expect(refusalOf(claudeAdapter, { addDirs: ['/srv/a', '--mcp-config=/tmp/evil.json'] })).toMatch(
      refusedField('addDirs[1]', '--mcp-config=/tmp/evil.json'),
    );
  });

  it('should read a usage limit from the failed turn’s rate_limit_info, and the older "usage limit reached|<epoch>" wording', () => {
    const now = Date.UTC(2026, 11, 7, 12);
    const weekly = reportOf([
      {
        type: 'assistant',
        error: 'rate_limit',
        api_error_status: 429,
        api_error_params: { rate_limit_info: { status: 'rejected', resetsAt: now / 1000 + 86_400, rateLimitType: 'seven_day' } },
      },
      {
        type: 'result',
        subtype: 'success',
        is_error: true,
        api_error_status: 429,
        result: "You've hit your weekly limit · resets Dec 8, 12pm (UTC)",
      },
    ]);
    expect(claudeAdapter.usageLimit!(weekly, [], now)).toEqual({ resetsAt: now + 86_400_000 });
    // A warning that some of the window is left is no limit: the run failed for another reason.
    const warned = reportOf([
      { type: 'rate_limit_event', rate_limit_info: { status: 'allowed_warning', resetsAt: now / 1000 + 600 } },
      { type: 'result', subtype: 'success', is_error: true, api_error_status: 500, result: 'API Error: 500 Internal server error' },
    ]);
    expect(claudeAdapter.usageLimit!(warned, [], now)).toBeUndefined();
    const older = { reportedError: true, errorText: `Claude AI usage limit reached|${now / 1000 + 7200}` };
    expect(claudeAdapter.usageLimit!(older, [], now)).toEqual({ resetsAt: now + 7_200_000 });
    const spendCap = {
      reportedError: true,
      errorText: 'API Error: 400 You have reached your specified API usage limits. You will regain access on 2027-01-01 at 00:00 UTC.',
    };
    expect(claudeAdapter.usageLimit!(spendCap, [], now)).toEqual({ resetsAt: undefined });
  });
});
