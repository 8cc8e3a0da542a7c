import { describe, expect, it } from 'vitest';
import { codexAdapter } from '../../src/agents/codex.js';
import { fixtures, job, kindsOf, reportOf, refusalOf, refusedField } from './support.js';

const fixture = fixtures('codex');
const report = (name: string) => reportOf(codexAdapter, fixture(name));

describe('codex adapter', () => {
  it('should run `exec --json … -` with the prompt on stdin, never in argv', () => {
    const launch = codexAdapter.launch(job(), {});
    expect(launch.args).toEqual(['exec', '--json', '--skip-git-repo-check', '-']);
    expect(launch.stdin).toBe('fix the bug');
    expect(launch.command).toBeUndefined();
  });

  it('should pass the model and one --add-dir per directory before the stdin marker', () => {
    const launch = codexAdapter.launch(job({ runtimeConfig: { model: 'gpt-5.2-codex' }, addDirs: ['/a', '/b c'] }), {});
    expect(launch.args).toEqual([
      'exec',
      '--json',
      '--model',
      'gpt-5.2-codex',
      '--skip-git-repo-check',
      '--add-dir',
      '/a',
      '--add-dir',
      '/b c',
      '-',
    ]);
  });

  it('should keep the git repository check when the job asks for it', () => {
    expect(codexAdapter.launch(job({ runtimeConfig: { skipGitRepoCheck: false } }), {}).args).toEqual(['exec', '--json', '-']);
  });

  it('should resume with the exec flags before `resume <thread_id> -`', () => {
    const launch = codexAdapter.launch(job({ sessionId: 'th-1', runtimeConfig: { model: 'o3' } }), {});
    expect(launch.args).toEqual(['exec', '--json', '--model', 'o3', '--skip-git-repo-check', 'resume', 'th-1', '-']);
  });

  it('should prepend the instructions to the prompt of a new session only', () => {
    const context = { instructions: 'Be terse.\n', instructionsPath: '/tmp/x/instructions.md' };
    expect(codexAdapter.launch(job(), context).stdin).toBe('Be terse.\n\nfix the bug');
    expect(codexAdapter.launch(job({ sessionId: 'th-1' }), context).stdin).toBe('fix the bug');
    expect(codexAdapter.launch(job(), context).args).not.toContain('/tmp/x/instructions.md');
  });

  it('should map thread/turn/item events to neutral kinds', () => {
    expect(kindsOf(codexAdapter, fixture('success'))).toEqual([
      'model_message',
      'model_message',
      'tool_call',
      'tool_result',
      'model_message',
      'run_complete',
    ]);
    expect(kindsOf(codexAdapter, fixture('tool-use'))).toEqual([
      'model_message',
      'model_message',
      'model_message',
      'model_message',
      'tool_call',
      'tool_result',
      'model_message',
      'model_message',
      'tool_result',
      'model_message',
      'run_complete',
    ]);
    expect(kindsOf(codexAdapter, fixture('error'))).toEqual(['model_message', 'model_message', 'model_message', 'run_complete']);
  });

  it('should read the thread id, no cost and no error from a successful run', () => {
    expect(report('success')).toEqual({ sessionId: '0199a213-81c0-7800-8aa1-bbab2a035a53', reportedError: false, errorText: undefined });
    expect(report('tool-use')).toEqual({ sessionId: '0199b7c0-2f4e-7a31-9d55-5c0a8e1f0b02', reportedError: false, errorText: undefined });
  });

  it('should report turn.failed as an error with its message', () => {
    expect(report('error')).toEqual({
      sessionId: '0199c001-5d2a-7c10-8e3f-4a5b6c7d8e9f',
      reportedError: true,
      errorText: "You've hit your usage limit for GPT-5.2-Codex. Try again at 11:31 PM.",
    });
    expect(report('auth-failure')).toMatchObject({ reportedError: true, errorText: expect.stringContaining('refresh token has expired') });
  });

  it('should let a turn.completed outweigh an earlier transient error event', () => {
    const messages = [
      { type: 'thread.started', thread_id: 't' },
      { type: 'error', message: 'stream disconnected; retrying 1/5' },
      { type: 'turn.completed', usage: {} },
    ];
    expect(reportOf(codexAdapter, messages)).toEqual({ sessionId: 't', reportedError: false, errorText: undefined });
  });

  it('should report a lone error event (no terminal event) as an error', () => {
    expect(reportOf(codexAdapter, [{ type: 'error', message: 'boom' }])).toEqual({ reportedError: true, errorText: 'boom' });
  });

  it('should read the older {id, msg} envelope: session id, tools, completion, errors', () => {
    expect(kindsOf(codexAdapter, fixture('legacy'))).toEqual([
      'model_message',
      'model_message',
      'tool_call',
      'tool_result',
      'model_message',
      'model_message',
      'run_complete',
    ]);
    expect(report('legacy')).toEqual({ sessionId: 's-7', reportedError: false });
    const failed = [
      { id: '0', msg: { type: 'session_configured', session_id: 's-8' } },
      { id: '1', msg: { type: 'error', message: 'unexpected status 401 Unauthorized' } },
      { id: '1', msg: { type: 'task_complete' } },
    ];
    expect(reportOf(codexAdapter, failed)).toEqual({
      sessionId: 's-8',
      reportedError: true,
      errorText: 'unexpected status 401 Unauthorized',
    });
  });

  it('should recognise a dead thread in the error text or on stderr', () => {
    const isUnknown = codexAdapter.isUnknownSession!;
    expect(isUnknown({ reportedError: true, errorText: 'no rollout found for thread id 0199a213' }, [])).toBe(true);
    expect(isUnknown({}, ['Error: thread/resume failed: thread not found'])).toBe(true);
    expect(isUnknown(report('error'), ['ERROR codex_core::rollout::list: state db missing rollout path for thread 0199'])).toBe(false);
  });

  it('should refuse a job field that starts with "-" instead of passing it as a flag, naming the field', () => {
    expect(refusalOf(codexAdapter, { sessionId: '--dangerously-bypass-approvals-and-sandbox' })).toMatch(
      refusedField('sessionId', '--dangerously-bypass-approvals-and-sandbox'),
    );
    expect(refusalOf(codexAdapter, { runtimeConfig: { model: '--yolo' } })).toMatch(refusedField('runtimeConfig.model', '--yolo'));
    expect(refusalOf(codexAdapter, { addDirs: ['--full-auto'] })).toMatch(refusedField('addDirs[0]', '--full-auto'));
  });

  it('should read a usage limit from turn.failed, or from stderr when codex printed no JSON', () => {
    const now = new Date(2026, 11, 7, 9, 0).getTime();
    const limited = {
      reportedError: true,
      errorText:
        'You’ve hit your usage limit. Visit https://chatgpt.com/codex/settings/usage to purchase more credits or try again at Dec 9th, 2026 2:02 PM.',
    };
    expect(codexAdapter.usageLimit!(limited, [], now)).toEqual({ resetsAt: new Date(2026, 11, 9, 14, 2).getTime() });
    expect(codexAdapter.usageLimit!({}, ['ERROR: You’ve hit your usage limit. Try again later.'], now)).toEqual({ resetsAt: undefined });
    expect(
      codexAdapter.usageLimit!({ reportedError: true, errorText: 'unexpected status 401 Unauthorized: Incorrect API key' }, [], now),
    ).toBeUndefined();
  });
});
