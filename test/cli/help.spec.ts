import { describe, expect, it } from 'vitest';
import { doctorHelp } from '../../src/cli/doctor.js';
import { toolHelp } from '../../src/cli/help.js';
import { serviceHelp } from '../../src/cli/service/index.js';
import { startHelp } from '../../src/cli/start/help.js';
import { START_SETTINGS } from '../../src/cli/start/settings.js';
import { startCommand } from '../../src/cli/start/command.js';

describe('--help written from the declared settings', () => {
  const helps = {
    'founderos-runner --help': toolHelp(),
    'start --help': startHelp(),
    'doctor --help': doctorHelp(),
    'service --help': serviceHelp(),
  };

  it.each(Object.entries(helps))('%s should list every setting of start with its variable', (_, help) => {
    for (const setting of START_SETTINGS) {
      expect(help).toMatch(new RegExp(`--${setting.flag}\\b`));
      if (setting.env) expect(help).toContain(setting.env);
    }
    expect(help).toContain('--config=PATH');
  });

  it('should print the help of start, not refuse --help as an unknown flag', async () => {
    let out = '';
    const code = await startCommand(['--help'], {}, { stdout: (text) => (out += text), stderr: (text) => (out += text), env: {} });
    expect(code).toBe(0);
    expect(out).toBe(startHelp());
  });
});
