import { describe, expect, it } from 'vitest';
import { opencodeAdapter } from '../../src/agents/opencode.js';
import { fixtures, job, kindsOf, reportOf, refusalOf, refusedField } from './support.js';

const fixture = fixtures('opencode');
const report = (name: string) => reportOf(opencodeAdapter, fixture(name));

describe('opencode adapter', () => {
  it('should run `run --format json` with the prompt on stdin, never in argv', () => {
    const launch = opencodeAdapter.launch(job(), {});
    expect(launch.args).toEqual(['run', '--format', 'json']);
    expect(launch.stdin).toBe('fix the bug');
  });

  it('should pass model and session, and no flag for extra directories', () => {
    const launch = opencodeAdapter.launch(
      job({ sessionId: 'ses_1', runtimeConfig: { model: 'anthropic/claude-sonnet-4-6' }, addDirs: ['/a'] }),
      {},
    );
    expect(launch.args).toEqual(['run', '--format', 'json', '--model', 'anthropic/claude-sonnet-4-6', '--session', 'ses_1']);
  });

  it('should prepend the instructions to the prompt of a new session only', () => {
    const context = { instructions: 'Be terse.', instructionsPath: '/tmp/x/instructions.md' };
    expect(opencodeAdapter.launch(job(), context).stdin).toBe('Be terse.\n\nfix the bug');
    expect(opencodeAdapter.launch(job({ sessionId: 'ses_1' }), context).stdin).toBe('fix the bug');
  });

  it('should map json events to neutral kinds', () => {
    expect(kindsOf(opencodeAdapter, fixture('success'))).toEqual(['model_message', 'model_message', 'run_complete']);
    expect(kindsOf(opencodeAdapter, fixture('tool-use'))).toEqual([
      'model_message',
      'tool_result',
      'tool_result',
      'model_message',
      'model_message',
      'model_message',
      'run_complete',
    ]);
    expect(kindsOf(opencodeAdapter, fixture('error'))).toEqual(['model_message', 'model_message']);
    expect(opencodeAdapter.kindOf({ type: 'tool_use', part: { state: { status: 'running' } } })).toBe('tool_call');
    expect(opencodeAdapter.kindOf({ type: 'done' })).toBe('run_complete');
  });

  it('should read the session id and the cost of a successful run', () => {
    expect(report('success')).toEqual({ sessionId: 'ses_4b1f0c2d9ffeA7kQ2mZx8Rt1', costMicros: 2500 });
  });

  it('should add up the cost of every step and not fail for a failed tool', () => {
    expect(report('tool-use')).toEqual({ sessionId: 'ses_4b1f1a7e3ffeC2pW9kLq5Vn8', costMicros: 4300 });
  });

  it('should fail the run on an error event, whatever the exit code', () => {
    expect(report('error')).toEqual({
      sessionId: 'ses_4b1f2c9d5ffeH7tR3mBn6Yx2',
      reportedError: true,
      errorText: 'APIError: failed to read request body',
      apiStatus: 400,
    });
    expect(report('auth-failure')).toEqual({
      sessionId: 'ses_4b1f3e1f7ffeK9vT5pDq8Za4',
      reportedError: true,
      errorText: 'APIError: invalid x-api-key',
      apiStatus: 401,
    });
  });

  it('should name an error that has only a name or only a message', () => {
    expect(reportOf(opencodeAdapter, [{ type: 'error', error: { name: 'MessageAbortedError' } }]).errorText).toBe('MessageAbortedError');
    expect(reportOf(opencodeAdapter, [{ type: 'error', error: { data: { message: 'quota exceeded' } } }]).errorText).toBe('quota exceeded');
    expect(reportOf(opencodeAdapter, [{ type: 'error' }]).errorText).toBe('opencode reported an error');
  });

  it('should recognise an unknown session', () => {
    const isUnknown = opencodeAdapter.isUnknownSession!;
    expect(isUnknown({}, ['Error: Session not found: ses_1'])).toBe(true);
    // As 1.18.33 prints it, coloured though stderr is no terminal: no word boundary before "Session" until the codes go.
    expect(isUnknown({}, ['\u001b[91m\u001b[1mError: \u001b[0mSession not found'])).toBe(true);
    expect(isUnknown({ reportedError: true, errorText: 'NotFoundError: Session not found' }, [])).toBe(true);
    expect(isUnknown(report('error'), [])).toBe(false);
  });

  it('should refuse a job field that starts with "-" instead of passing it as a flag, naming the field', () => {
    expect(refusalOf(opencodeAdapter, { runtimeConfig: { model: '--auto' } })).toMatch(refusedField('runtimeConfig.model', '--auto'));
    expect(refusalOf(opencodeAdapter, { sessionId: '--continue' })).toMatch(refusedField('sessionId', '--continue'));
  });

  it('should read a usage limit from the status and headers of the error event, and nothing from another status', () => {
    const at = Date.UTC(2026, 11, 7, 12);
    const error = (statusCode: number, responseHeaders: Record<string, string>) => ({
      type: 'error',
      timestamp: at,
      sessionID: 'ses_4b1f2c9d5ffeH7tR3mBn6Yx2',
      error: { name: 'APIError', data: { message: 'Too Many Requests', statusCode, isRetryable: true, responseHeaders } },
    });
    const limited = reportOf(opencodeAdapter, [error(429, { 'retry-after': '90' })]);
    expect(limited).toMatchObject({ apiStatus: 429, limitResetsAt: at + 90_000 });
    expect(opencodeAdapter.usageLimit!(limited, [], at + 1000)).toEqual({ resetsAt: at + 90_000 });
    expect(opencodeAdapter.usageLimit!(reportOf(opencodeAdapter, [error(503, { 'retry-after': '90' })]), [], at)).toBeUndefined();
  });
});
