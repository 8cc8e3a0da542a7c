import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/cli/command.js';
import { decideSandbox, workDirProblem } from '../../../src/cli/start/containment.js';
import { parseConfigObject } from '../../../src/cli/start/config-file.js';
import { configEnvironment } from '../../../src/cli/service/environment.js';
import { parseStartFlags, resolveRunnerConfig } from '../../../src/cli/start/runner-config.js';
import type { SandboxProbe } from '../../../src/streams/sandbox.js';
import { problemsOf } from '../support.js';

const TOKEN = `fos_${'a1B2'.repeat(8)}`;
const BASE_ENV = { FOUNDEROS_RUNNER_TOKEN: TOKEN, FOUNDEROS_RUNNER_URL: 'https://founderos.example.com', HOME: '/home/ada' };
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => resolveRunnerConfig(parseStartFlags(argv).values, { ...BASE_ENV, ...env });

describe('the containment settings of start', () => {
  it('should default to the sandbox where it works, workspaces in the state directory, and nothing allowed or exposed', () => {
    expect(parse([], { XDG_STATE_HOME: '/state' })).toMatchObject({
      sandbox: 'auto',
      workDir: '/state/founderos-runner/workspaces',
      allowDirs: [],
      expose: [],
    });
  });

  it('should take --sandbox=on|off|auto, and refuse anything else, naming the choices', () => {
    expect(parse(['--sandbox=off']).sandbox).toBe('off');
    expect(parse([], { FOUNDEROS_RUNNER_SANDBOX: 'on' }).sandbox).toBe('on');
    expect(problemsOf(() => parse(['--sandbox=maybe']))).toEqual([
      'config error: sandbox "maybe" must be one of auto | on | off (--sandbox or FOUNDEROS_RUNNER_SANDBOX)',
    ]);
  });

  it('should take --allow-dir and --expose repeated, or as a list in their variables, as absolute paths (~ is home)', () => {
    const config = parse(['--allow-dir=/srv/a', '--allow-dir', 'rel/b', '--expose=~/.ssh', '--work-dir=~/work']);
    expect(config).toMatchObject({ allowDirs: ['/srv/a', resolve('rel/b')], expose: ['/home/ada/.ssh'], workDir: '/home/ada/work' });
    expect(parse([], { FOUNDEROS_RUNNER_ALLOW_DIRS: '/srv/a:/srv/b', FOUNDEROS_RUNNER_EXPOSE: '~/.ssh::~/.gnupg' })).toMatchObject({
      allowDirs: ['/srv/a', '/srv/b'],
      expose: ['/home/ada/.ssh', '/home/ada/.gnupg'],
    });
    // A flag's list replaces the variable's, as for every setting.
    expect(parse(['--allow-dir=/flag'], { FOUNDEROS_RUNNER_ALLOW_DIRS: '/env' }).allowDirs).toEqual(['/flag']);
  });

  it('should read them from the config file: one path or a list, relative to the file, ~ kept for home', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'containment-settings-')));
    const file = parseConfigObject(
      { 'allow-dir': ['shared', '/srv/x'], expose: '~/.ssh', 'work-dir': 'ws', sandbox: 'on' },
      join(dir, 'c.json'),
    );
    expect(resolveRunnerConfig({}, BASE_ENV, {}, file)).toMatchObject({
      allowDirs: [join(dir, 'shared'), '/srv/x'],
      expose: ['/home/ada/.ssh'],
      workDir: join(dir, 'ws'),
      sandbox: 'on',
    });
    expect(problemsOf(() => parseConfigObject({ expose: [1] }, '/c.json'))).toEqual([
      'config error: /c.json: "expose" must be a path or a list of paths, e.g. ["/srv/shared"] (got an array)',
    ]);
  });

  it('should bake them into a service, so that it contains its agents as the command line did', () => {
    const config = parse(['--sandbox=on', '--work-dir=/w', '--allow-dir=/srv/a', '--allow-dir=/srv/b', '--expose=/home/ada/.ssh']);
    expect(configEnvironment(config)).toMatchObject({
      FOUNDEROS_RUNNER_SANDBOX: 'on',
      FOUNDEROS_RUNNER_WORK_DIR: '/w',
      FOUNDEROS_RUNNER_ALLOW_DIRS: '/srv/a:/srv/b',
      FOUNDEROS_RUNNER_EXPOSE: '/home/ada/.ssh',
    });
    expect(configEnvironment(parse([]))).not.toHaveProperty('FOUNDEROS_RUNNER_ALLOW_DIRS');
  });
});

describe('decideSandbox', () => {
  const works: SandboxProbe = { works: true, bwrap: '/usr/bin/bwrap', version: 'bubblewrap 0.8.0' };
  const missing: SandboxProbe = { works: false, reason: 'bwrap (bubblewrap) is not installed', fix: 'install bubblewrap: …' };

  it('should use the sandbox where it works, in auto and on, and say so', () => {
    for (const mode of ['auto', 'on'] as const)
      expect(decideSandbox(mode, () => works)).toMatchObject({
        bwrap: '/usr/bin/bwrap',
        level: 'info',
        message: expect.stringMatching(/^sandbox: on \(bubblewrap 0.8.0\)/),
      });
  });

  it('should go on without it in auto, warning why and what to do', () => {
    expect(decideSandbox('auto', () => missing)).toEqual({
      level: 'warn',
      message: expect.stringMatching(
        /^sandbox: off, because bwrap \(bubblewrap\) is not installed; .* To contain them: install bubblewrap/,
      ),
    });
  });

  it('should refuse to start in on when the sandbox cannot run, naming why and the fix', () => {
    expect(() => decideSandbox('on', () => missing)).toThrow(ConfigError);
    expect(problemsOf(() => decideSandbox('on', () => missing))).toEqual([
      'config error: --sandbox=on, but the sandbox cannot run here: bwrap (bubblewrap) is not installed. Fix: install bubblewrap: …',
    ]);
  });

  it('should not even probe in off', () => {
    expect(
      decideSandbox('off', () => {
        throw new Error('probed');
      }),
    ).toMatchObject({ level: 'warn', message: expect.stringMatching(/^sandbox: off \(--sandbox=off\)/) });
  });
});

describe('workDirProblem', () => {
  it('should take a directory of its own, apart from the home directory and the spool', () => {
    expect(
      workDirProblem('/home/ada/.local/state/founderos-runner/workspaces', '/home/ada', '/home/ada/.local/state/founderos-runner/spool'),
    ).toBeUndefined();
    expect(workDirProblem('/srv/work', '/home/ada', '/srv/spool')).toBeUndefined();
  });

  it.each([
    ['/home/ada', 'is or holds your home directory'],
    ['/home', 'is or holds your home directory'],
    ['/', 'is or holds your home directory'],
    ['/srv/spool/work', 'lie one in the other'],
    ['/srv', 'lie one in the other'],
  ])('should refuse %s: it %s', (workDir, why) => {
    expect(workDirProblem(workDir, '/home/ada', '/srv/spool')).toContain(why);
  });
});
