import { describe, expect, it } from 'vitest';
import { processAdapter } from '../../src/agents/process.js';
import { job, reportOf } from './support.js';

describe('process adapter', () => {
  it("should run the job's command with its args, the prompt on stdin", () => {
    const launch = processAdapter.launch(job({ runtimeConfig: { command: '/usr/local/bin/my-agent', args: ['--fast', 'a b'] } }), {});
    expect(launch).toEqual({ command: '/usr/local/bin/my-agent', args: ['--fast', 'a b'], stdin: 'fix the bug' });
  });

  it('should run a command without args, and hand over the instructions file in the environment', () => {
    const launch = processAdapter.launch(job({ runtimeConfig: { command: 'my-agent' }, sessionId: 's', addDirs: ['/a'] }), {
      instructionsPath: '/tmp/x/instructions.md',
      instructions: 'x',
    });
    expect(launch).toEqual({
      command: 'my-agent',
      args: [],
      stdin: 'fix the bug',
      env: { FOUNDEROS_INSTRUCTIONS_FILE: '/tmp/x/instructions.md' },
    });
  });

  it('should refuse a job without a command, saying what to set', () => {
    expect(() => processAdapter.launch(job(), {})).toThrow(/runtimeConfig\.command is missing.*set runtimeConfig\.command/);
    expect(() => processAdapter.launch(job({ runtimeConfig: { command: '  ' } }), {})).toThrow(/runtimeConfig\.command is missing/);
    expect(() => processAdapter.launch(job({ runtimeConfig: { command: 42 } }), {})).toThrow(/runtimeConfig\.command is missing/);
  });

  it('should refuse args that are not a list of strings', () => {
    expect(() => processAdapter.launch(job({ runtimeConfig: { command: 'x', args: '--fast' } }), {})).toThrow(
      /runtimeConfig\.args must be a list of strings/,
    );
    expect(() => processAdapter.launch(job({ runtimeConfig: { command: 'x', args: ['ok', 3] } }), {})).toThrow(/runtimeConfig\.args/);
  });

  it('should make every JSON line a model_message and leave success to the exit code', () => {
    expect(processAdapter.kindOf({ type: 'result', is_error: true })).toBe('model_message');
    expect(reportOf(processAdapter, [{ session_id: 's', is_error: true, total_cost_usd: 1 }])).toEqual({});
    expect(processAdapter.versionArgs).toEqual([]);
    expect(processAdapter.isUnknownSession).toBeUndefined();
  });

  it('should pass runtimeConfig.args as given, flags included: they are the flags of the program the owner allowed', () => {
    expect(
      processAdapter.launch(job({ runtimeConfig: { command: 'my-agent', args: ['--yolo', '-x'] }, sessionId: '--resume' }), {}).args,
    ).toEqual(['--yolo', '-x']);
  });
});
