import { describe, expect, it } from 'vitest';
import { cursorAdapter } from '../../src/agents/cursor.js';
import { fixtures, job, kindsOf, reportOf, refusalOf, refusedField } from './support.js';

const fixture = fixtures('cursor');
const report = (name: string) => reportOf(cursorAdapter, fixture(name));

describe('cursor adapter', () => {
  it('should run print mode with stream-json, trusting the workspace, with the prompt on stdin only', () => {
    const launch = cursorAdapter.launch(job(), {});
    expect(launch.args).toEqual(['-p', '--output-format', 'stream-json', '--trust']);
    expect(launch.stdin).toBe('fix the bug');
  });

  it('should pass model and resume, and no flag for extra directories', () => {
    const launch = cursorAdapter.launch(job({ sessionId: 'chat-1', runtimeConfig: { model: 'gpt-5.3-codex' }, addDirs: ['/a'] }), {});
    expect(launch.args).toEqual(['-p', '--output-format', 'stream-json', '--trust', '--model', 'gpt-5.3-codex', '--resume', 'chat-1']);
  });

  it('should prepend the instructions to the prompt of a new session only', () => {
    const context = { instructions: 'Be terse.', instructionsPath: '/tmp/x/instructions.md' };
    expect(cursorAdapter.launch(job(), context).stdin).toBe('Be terse.\n\nfix the bug');
    expect(cursorAdapter.launch(job({ sessionId: 'chat-1' }), context).stdin).toBe('fix the bug');
  });

  it('should map stream-json events to neutral kinds', () => {
    expect(kindsOf(cursorAdapter, fixture('success'))).toEqual(['model_message', 'model_message', 'model_message', 'run_complete']);
    expect(kindsOf(cursorAdapter, fixture('tool-use'))).toEqual([
      'model_message',
      'model_message',
      'model_message',
      'tool_call',
      'tool_result',
      'tool_call',
      'tool_result',
      'run_complete',
    ]);
    expect(kindsOf(cursorAdapter, fixture('error'))).toEqual(['model_message', 'model_message', 'run_complete']);
  });

  it('should read the session id and success; cursor reports no cost', () => {
    expect(report('success')).toEqual({
      sessionId: 'c3a1d2e4-5f60-4a7b-8c9d-0e1f2a3b4c5d',
      costMicros: undefined,
      reportedError: false,
      errorText: undefined,
    });
    expect(report('tool-use')).toMatchObject({ sessionId: 'd4b2e3f5-6a71-4b8c-9d0e-1f2a3b4c5d6e', reportedError: false });
  });

  it('should take a cost if a build reports one', () => {
    expect(reportOf(cursorAdapter, [{ type: 'result', subtype: 'success', cost_usd: 0.0123 }]).costMicros).toBe(12300);
    expect(reportOf(cursorAdapter, [{ type: 'result', subtype: 'success', total_cost_usd: 'n/a', cost: 0.5 }]).costMicros).toBe(500000);
  });

  it('should fail a result with is_error, with its text', () => {
    expect(report('error')).toEqual({
      sessionId: 'e5c3f4a6-7b82-4c9d-8e1f-2a3b4c5d6e7f',
      costMicros: undefined,
      reportedError: true,
      errorText: 'Connection to the model provider failed: 503 Service Unavailable',
    });
    expect(reportOf(cursorAdapter, [{ type: 'result', subtype: 'success', is_error: true }])).toMatchObject({
      reportedError: true,
      errorText: 'cursor reported success',
    });
  });

  it('should leave an auth failure (no JSON at all) to the exit code and stderr', () => {
    expect(report('auth-failure')).toEqual({});
  });

  it('should not guess at unknown-session wording', () => {
    expect(cursorAdapter.isUnknownSession).toBeUndefined();
  });

  it('should refuse a job field that starts with "-" instead of passing it as a flag, naming the field', () => {
    expect(refusalOf(cursorAdapter, { runtimeConfig: { model: '--force' } })).toMatch(refusedField('runtimeConfig.model', '--force'));
    expect(refusalOf(cursorAdapter, { sessionId: '--yolo' })).toMatch(refusedField('sessionId', '--yolo'));
  });
});
