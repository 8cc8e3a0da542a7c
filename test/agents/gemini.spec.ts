import { describe, expect, it } from 'vitest';
import { geminiAdapter } from '../../src/agents/gemini.js';
import { fixtures, job, kindsOf, reportOf, refusalOf, refusedField } from './support.js';

const fixture = fixtures('gemini');
const report = (name: string) => reportOf(geminiAdapter, fixture(name));

describe('gemini adapter', () => {
  it('should run stream-json headless with the prompt on stdin and an empty -p, never the prompt in argv', () => {
    const launch = geminiAdapter.launch(job(), {});
    expect(launch.args).toEqual(['--output-format', 'stream-json', '-p', '']);
    expect(launch.stdin).toBe('fix the bug');
  });

  it('should pass model, resume and one --include-directories per directory', () => {
    const launch = geminiAdapter.launch(job({ sessionId: 'g-1', runtimeConfig: { model: 'flash' }, addDirs: ['/a', '/b c'] }), {});
    expect(launch.args).toEqual([
      '--output-format',
      'stream-json',
      '--model',
      'flash',
      '--resume',
      'g-1',
      '--include-directories',
      '/a',
      '--include-directories',
      '/b c',
      '-p',
      '',
    ]);
  });

  it('should prepend the instructions to the prompt of a new session only', () => {
    const context = { instructions: 'Be terse.', instructionsPath: '/tmp/x/instructions.md' };
    expect(geminiAdapter.launch(job(), context).stdin).toBe('Be terse.\n\nfix the bug');
    expect(geminiAdapter.launch(job({ sessionId: 'g-1' }), context).stdin).toBe('fix the bug');
  });

  it('should map stream-json events to neutral kinds', () => {
    expect(kindsOf(geminiAdapter, fixture('success'))).toEqual([
      'model_message',
      'model_message',
      'model_message',
      'model_message',
      'run_complete',
    ]);
    expect(kindsOf(geminiAdapter, fixture('tool-use'))).toEqual([
      'model_message',
      'model_message',
      'tool_call',
      'tool_result',
      'tool_call',
      'tool_result',
      'model_message',
      'run_complete',
    ]);
    expect(kindsOf(geminiAdapter, fixture('error'))).toEqual(['model_message', 'model_message', 'model_message', 'run_complete']);
  });

  it('should read the session id and success, and no cost', () => {
    expect(report('success')).toEqual({ sessionId: '6c1e9a52-8d1f-4b7e-9a0c-2f3d4e5f6a7b', reportedError: false, errorText: undefined });
  });

  it('should not fail a run for a failed tool call', () => {
    expect(report('tool-use')).toEqual({ sessionId: '0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d', reportedError: false, errorText: undefined });
  });

  it('should fail a result with status "error", taking the text of the error event before it', () => {
    expect(report('error')).toEqual({
      sessionId: '3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f',
      reportedError: true,
      errorText: 'The model returned an empty text response. If your context window is near capacity, try using /compress.',
    });
  });

  it("should prefer the result's own error message", () => {
    const messages = [
      { type: 'result', status: 'error', error: { type: 'MaxSessionTurnsError', message: 'Reached max session turns' }, stats: {} },
    ];
    expect(reportOf(geminiAdapter, messages)).toEqual({ reportedError: true, errorText: 'Reached max session turns' });
    expect(reportOf(geminiAdapter, [{ type: 'result', status: 'error' }])).toEqual({
      reportedError: true,
      errorText: 'gemini reported error',
    });
  });

  it('should forget a warning when the run then succeeds', () => {
    const messages = [
      { type: 'error', severity: 'error', message: 'Maximum session turns exceeded' },
      { type: 'error', severity: 'warning', message: 'Loop detected' },
      { type: 'result', status: 'success' },
    ];
    expect(reportOf(geminiAdapter, messages)).toEqual({ reportedError: false, errorText: undefined });
  });

  it('should leave an auth failure (no result, text on stderr) to the exit code', () => {
    expect(report('auth-failure')).toEqual({ sessionId: '9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b' });
  });

  it('should recognise an unknown session on stderr', () => {
    const isUnknown = geminiAdapter.isUnknownSession!;
    expect(
      isUnknown({}, ['Error resuming session: Invalid session identifier "g-1".', 'Use --list-sessions to see available sessions.']),
    ).toBe(true);
    expect(isUnknown({}, ['No previous sessions found for this project.'])).toBe(true);
    expect(isUnknown(report('error'), ['[ERROR] quota exceeded'])).toBe(false);
  });

  it('should refuse a job field that starts with "-" instead of passing it as a flag, naming the field', () => {
    expect(refusalOf(geminiAdapter, { runtimeConfig: { model: '--yolo' } })).toMatch(refusedField('runtimeConfig.model', '--yolo'));
    expect(refusalOf(geminiAdapter, { sessionId: '--approval-mode=yolo' })).toMatch(refusedField('sessionId', '--approval-mode=yolo'));
    expect(refusalOf(geminiAdapter, { addDirs: ['-y'] })).toMatch(refusedField('addDirs[0]', '-y'));
  });

  it('should read a usage limit from the wording of a Google-login quota too, where the CLI names another model', () => {
    const now = Date.UTC(2026, 11, 7, 12);
    const report = {
      reportedError: true,
      errorText:
        "[API Error: Quota exceeded for quota metric 'Gemini 2.5 Pro Requests' and limit 'Gemini 2.5 Pro Requests per day per user per tier'.]\n" +
        'Possible quota limitations in place or slow response times detected. Switching to the gemini-2.5-flash model for the rest of this session.',
    };
    expect(geminiAdapter.usageLimit!(report, [], now)).toEqual({ resetsAt: undefined });
    expect(
      geminiAdapter.usageLimit!({ reportedError: true, errorText: '[API Error: An internal error has occurred.]' }, [], now),
    ).toBeUndefined();
  });
});
