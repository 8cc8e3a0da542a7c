import { describe, expect, it } from 'vitest';
import { ADMIN_COMMANDS, adminCommandHelp, adminHelp } from '../../src/cli/admin/command.js';
import { doctorHelp } from '../../src/cli/doctor.js';
import { toolHelp } from '../../src/cli/help.js';
import { serviceHelp } from '../../src/cli/service/index.js';
import { startHelp } from '../../src/cli/start/help.js';
import { START_SETTINGS } from '../../src/cli/start/declarations.js';
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

describe('admin --help written from the declared flags', () => {
  const commands = Object.entries(ADMIN_COMMANDS);
  const flagPattern = (flag: string) => new RegExp(`--${flag}\\b`);
  const globalFlags = ['server-url', 'admin-key', 'data-dir', 'json'];

  it.each(commands)('%s should name every flag it declares in its usage line, in admin --help and in its own --help', (name, command) => {
    // The usage line (wrapped) runs from the command's name to the blank line or to its description.
    const inAdminHelp = adminHelp({}).split(`\n  ${name} `)[1]!.split(`\n      ${command.about}`)[0]!;
    const ownHelp = adminCommandHelp(name, command, {});
    const ownUsage = ownHelp.split('\n\n')[0]!;
    for (const { flag } of command.flags) {
      expect(inAdminHelp).toMatch(flagPattern(flag));
      expect(ownUsage).toMatch(flagPattern(flag));
      expect(ownHelp.split('\n\n').slice(2).join('\n\n')).toMatch(flagPattern(flag));
    }
    for (const arg of command.args) expect(ownUsage).toContain(arg);
    for (const flag of globalFlags) expect(ownHelp).toMatch(flagPattern(flag));
  });

  it('should list the flags every command takes', () => {
    for (const flag of globalFlags) expect(adminHelp({})).toMatch(flagPattern(flag));
  });
});
