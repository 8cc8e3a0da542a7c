import { describe, expect, it } from 'vitest';
import { agentEnvironment } from '../../src/runner/agent-env.js';

const TOKEN = `fos_${'q'.repeat(32)}`;

describe('agent environment', () => {
  it('should keep the user environment, drop the runner secrets (and where the token file is) and claude nesting guards, and name the job', () => {
    const env = agentEnvironment(
      {
        PATH: '/usr/bin',
        HOME: '/home/me',
        FOUNDEROS_RUNNER_TOKEN: TOKEN,
        FOUNDEROS_RUNNER_TOKEN_FILE: '/home/me/.config/founderos-runner/token',
        FOUNDEROS_ADMIN_KEY: 'k',
        CLAUDECODE: '1',
        CLAUDE_CODE_ENTRYPOINT: 'cli',
        ANTHROPIC_API_KEY: 'sk-user',
      },
      TOKEN,
      'job-1',
    );
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/home/me', ANTHROPIC_API_KEY: 'sk-user', FOUNDEROS_JOB_ID: 'job-1' });
  });

  it('should drop any variable that carries the token under another name', () => {
    expect(agentEnvironment({ RUNNER_ARGS: `--token=${TOKEN}`, KEEP: 'x' }, TOKEN, 'j')).toEqual({ KEEP: 'x', FOUNDEROS_JOB_ID: 'j' });
  });
});
