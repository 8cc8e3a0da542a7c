import { describe, expect, it } from 'vitest';
import { piAdapter } from '../../src/agents/pi.js';
import { fixtures, job, kindsOf, reportOf, refusalOf, refusedField } from './support.js';

const fixture = fixtures('pi');
const report = (name: string) => reportOf(piAdapter, fixture(name));

describe('pi adapter', () => {
  it('should run json print mode with the prompt on stdin, never in argv', () => {
    const launch = piAdapter.launch(job(), {});
    expect(launch.args).toEqual(['--mode', 'json', '-p']);
    expect(launch.stdin).toBe('fix the bug');
  });

  it('should pass the instructions file, provider, model and session, and no flag for extra directories', () => {
    const launch = piAdapter.launch(
      job({ sessionId: '7d0e5f1a', runtimeConfig: { model: 'claude-sonnet-4-6', provider: 'anthropic' }, addDirs: ['/a'] }),
      { instructionsPath: '/tmp/x/instructions.md', instructions: 'Be terse.' },
    );
    expect(launch.args).toEqual([
      '--mode',
      'json',
      '-p',
      '--append-system-prompt',
      '/tmp/x/instructions.md',
      '--provider',
      'anthropic',
      '--model',
      'claude-sonnet-4-6',
      '--session',
      '7d0e5f1a',
    ]);
    expect(launch.stdin).toBe('fix the bug');
  });

  it('should map session events to neutral kinds', () => {
    expect(kindsOf(piAdapter, fixture('success'))).toEqual([...Array<string>(9).fill('model_message'), 'run_complete']);
    expect(kindsOf(piAdapter, fixture('tool-use'))).toEqual([
      'model_message',
      'model_message',
      'model_message',
      'model_message',
      'model_message',
      'tool_call',
      'tool_call',
      'tool_result',
      'model_message',
      'model_message',
      'model_message',
      'model_message',
      'model_message',
      'run_complete',
    ]);
  });

  it('should read the session id and the cost of each assistant message once', () => {
    expect(report('success')).toEqual({
      sessionId: '7d0e5f1a-3b2c-4d8e-9f10-112233445566',
      costMicros: 2600,
      reportedError: false,
      errorText: undefined,
    });
    expect(report('tool-use')).toEqual({
      sessionId: '8e1f6a2b-4c3d-4e9f-a021-223344556677',
      costMicros: 4300,
      reportedError: false,
      errorText: undefined,
    });
  });

  it('should fail a run whose retries gave up, though pi exits 0', () => {
    expect(report('error')).toEqual({
      sessionId: '9f2a7b3c-5d4e-4f0a-b132-334455667788',
      costMicros: 0,
      reportedError: true,
      errorText: '429 RESOURCE_EXHAUSTED: Resource has been exhausted (e.g. check quota).',
    });
  });

  it('should fail a run whose last assistant message stopped with an error', () => {
    expect(report('auth-failure')).toMatchObject({
      sessionId: 'a03b8c4d-6e5f-4a1b-8243-445566778899',
      reportedError: true,
      errorText: expect.stringContaining('invalid x-api-key'),
    });
  });

  it('should clear an earlier failure that a retry recovered from', () => {
    const failed = { role: 'assistant', stopReason: 'error', errorMessage: '503 overloaded' };
    const ok = { role: 'assistant', stopReason: 'stop', usage: { cost: { total: 0.001 } } };
    const messages = [
      { type: 'message_end', message: failed },
      { type: 'auto_retry_start', attempt: 1 },
      { type: 'auto_retry_end', success: true },
      { type: 'message_end', message: ok },
      { type: 'agent_end', messages: [failed, ok] },
    ];
    expect(reportOf(piAdapter, messages)).toEqual({ costMicros: 1000, reportedError: false, errorText: undefined });
  });

  it('should fail on an error event, and on an aborted message without a text', () => {
    expect(reportOf(piAdapter, [{ type: 'error', message: 'extension crashed' }])).toEqual({
      reportedError: true,
      errorText: 'extension crashed',
    });
    expect(reportOf(piAdapter, [{ type: 'message_end', message: { role: 'assistant', stopReason: 'aborted' } }])).toMatchObject({
      reportedError: true,
      errorText: 'pi stopped: aborted',
    });
  });

  it('should fail on a failed final message in agent_end, but never clear an error with it', () => {
    expect(
      reportOf(piAdapter, [{ type: 'agent_end', messages: [{ role: 'assistant', stopReason: 'error', errorMessage: 'boom' }] }]),
    ).toEqual({ reportedError: true, errorText: 'boom' });
    const messages = [
      { type: 'error', message: 'boom' },
      { type: 'agent_end', messages: [{ role: 'assistant', stopReason: 'stop' }] },
    ];
    expect(reportOf(piAdapter, messages)).toEqual({ reportedError: true, errorText: 'boom' });
  });

  it('should recognise an unknown session from the line pi prints on stderr, and nothing else', () => {
    const isUnknown = piAdapter.isUnknownSession!;
    expect(isUnknown({}, ["No session found matching '01a20000-0000-7000-8000-000000000000'"])).toBe(true);
    expect(isUnknown(report('error'), [])).toBe(false);
    expect(isUnknown({}, ['No API key found for fake.'])).toBe(false);
  });

  it('should refuse a job field that starts with "-" instead of passing it as a flag, naming the field', () => {
    expect(refusalOf(piAdapter, { runtimeConfig: { provider: '--tools' } })).toMatch(refusedField('runtimeConfig.provider', '--tools'));
    expect(refusalOf(piAdapter, { runtimeConfig: { model: '-e' } })).toMatch(refusedField('runtimeConfig.model', '-e'));
    expect(refusalOf(piAdapter, { sessionId: '--no-session' })).toMatch(refusedField('sessionId', '--no-session'));
  });

  it('should read a usage limit from the status pi puts before the API’s message, whatever the provider', () => {
    const now = Date.UTC(2026, 11, 7, 12);
    const anthropic =
      '429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account\'s rate limit."}}';
    expect(piAdapter.usageLimit!({ reportedError: true, errorText: anthropic }, [], now)).toEqual({ resetsAt: undefined });
    expect(piAdapter.usageLimit!({ reportedError: true, errorText: '500 Please try again in 20s.' }, [], now)).toBeUndefined();
  });
});
