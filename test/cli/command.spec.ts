import { describe, expect, it } from 'vitest';
import { ConfigError, runCommand } from '../../src/cli/command.js';
import { EXIT } from '../../src/cli/exit-codes.js';

describe('runCommand', () => {
  it("should print every problem of a ConfigError after the command's name, and exit 2", async () => {
    let err = '';
    const code = await runCommand('founderos-runner x', { stderr: (text) => (err += text) }, async () => {
      throw new ConfigError(['--a is wrong; give --a=1', '--b is missing; give --b=2']);
    });
    expect(code).toBe(EXIT.config);
    expect(err).toBe('founderos-runner x: --a is wrong; give --a=1\nfounderos-runner x: --b is missing; give --b=2\n');
  });

  it('should pass the exit code of the body through, and let any other error up to the entry point', async () => {
    const quiet = { stderr: () => {} };
    expect(await runCommand('x', quiet, async () => EXIT.tokenRejected)).toBe(3);
    await expect(runCommand('x', quiet, async () => Promise.reject(new Error('bug')))).rejects.toThrow('bug');
  });
});
