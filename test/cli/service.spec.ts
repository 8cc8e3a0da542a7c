import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serviceCommand, type ServiceDeps } from '../../src/cli/service/index.js';

const TOKEN = `fos_${'s3Cr'.repeat(8)}`;
const PREVIEW = 'fos_s3Cr…';
const SETTINGS = [`--token=${TOKEN}`, '--server-url=https://founderos.example.com', '--timeout-sec=900', '--codex-bin=/opt/codex'];

describe('founderos-runner service', () => {
  let home: string;
  let output: string;
  let ran: string[][];
  let stderr: ReturnType<typeof vi.spyOn>;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'founderos-service-'));
    output = '';
    ran = [];
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    stderr.mockRestore();
    rmSync(home, { recursive: true, force: true });
  });

  const deps = (platform: string, runCode = 0): ServiceDeps => ({
    home,
    platform,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', XDG_STATE_HOME: join(home, 'state') },
    execPath: '/opt/node 20/bin/node',
    cliPath: '/opt/founderos/dist/bin/founderos-runner.js',
    location: { cwd: home, home, env: {} },
    run: async (argv) => {
      ran.push([...argv]);
      return { code: runCode, output: '' };
    },
    write: (text) => (output += text),
  });
  const service = (platform: string, argv: string[], runCode?: number) => serviceCommand(argv, deps(platform, runCode));
  const lines = () => output.split('\n').map((line) => line.trim());
  const stderrText = () => stderr.mock.calls.map((call: unknown[]) => String(call[0])).join('');

  describe('--dry-run', () => {
    it('should print the systemd unit, its 0600 environment file and the commands, changing nothing', async () => {
      expect(await service('linux', ['install', '--dry-run', ...SETTINGS])).toBe(0);
      const envPath = join(home, '.config', 'founderos-runner', 'env');
      expect(lines()).toEqual(
        expect.arrayContaining([
          `would write ${envPath} (mode 0600):`,
          `FOUNDEROS_RUNNER_TOKEN=${PREVIEW}`,
          'FOUNDEROS_RUNNER_URL=https://founderos.example.com',
          'FOUNDEROS_RUNNER_TIMEOUT_SEC=900',
          'FOUNDEROS_CODEX_BIN=/opt/codex',
          'PATH=/usr/local/bin:/usr/bin:/bin',
          `would write ${join(home, '.config', 'systemd', 'user', 'founderos-runner.service')} (mode 0644):`,
          'ExecStart="/opt/node 20/bin/node" /opt/founderos/dist/bin/founderos-runner.js start',
          `EnvironmentFile=${envPath}`,
          'Restart=on-failure',
          'RestartPreventExitStatus=2 3',
          'KillMode=mixed',
          'TimeoutStopSec=960',
          'WantedBy=default.target',
          'would run: systemctl --user daemon-reload',
          'would run: systemctl --user enable --now founderos-runner',
        ]),
      );
      expect(output).not.toContain(TOKEN);
      expect(ran).toEqual([]);
      expect(existsSync(join(home, '.config'))).toBe(false);
    });

    it('should print a launchd agent that restarts after failures only, through "service run"', async () => {
      expect(await service('darwin', ['install', '--dry-run', ...SETTINGS])).toBe(0);
      const plistPath = join(home, 'Library', 'LaunchAgents', 'dev.founderos.runner.plist');
      const text = output.replace(/\s+/g, ' ');
      expect(output).toContain(`would write ${plistPath} (mode 0600):`);
      expect(text).toContain('<key>Label</key> <string>dev.founderos.runner</string>');
      expect(text).toContain(
        '<key>ProgramArguments</key> <array> <string>/opt/node 20/bin/node</string> <string>/opt/founderos/dist/bin/founderos-runner.js</string> <string>service</string> <string>run</string> </array>',
      );
      expect(text).toContain(`<key>FOUNDEROS_RUNNER_TOKEN</key> <string>${PREVIEW}</string>`);
      expect(text).toContain('<key>FOUNDEROS_RUNNER_URL</key> <string>https://founderos.example.com</string>');
      expect(text).toContain('<key>RunAtLoad</key> <true/>');
      expect(text).toContain('<key>KeepAlive</key> <dict> <key>SuccessfulExit</key> <false/> </dict>');
      expect(text).toContain('<key>ThrottleInterval</key> <integer>10</integer>');
      expect(text).toContain('<key>ExitTimeOut</key> <integer>960</integer>');
      expect(lines()).toEqual(
        expect.arrayContaining([`would run: launchctl unload ${plistPath}`, `would run: launchctl load -w ${plistPath}`]),
      );
      expect(output).not.toContain(TOKEN);
      expect(ran).toEqual([]);
      expect(existsSync(join(home, 'Library'))).toBe(false);
    });

    it('should print the NSSM commands, the token read from the prompt, never printed', async () => {
      const windowsHome = 'C:\\Users\\me';
      expect(
        await serviceCommand(['install', '--dry-run', ...SETTINGS], {
          ...deps('win32'),
          home: windowsHome,
          execPath: 'C:\\Program Files\\nodejs\\node.exe',
          cliPath: 'C:\\npm\\founderos-runner.js',
        }),
      ).toBe(0);
      expect(lines()).toEqual(
        expect.arrayContaining([
          `set FOUNDEROS_RUNNER_TOKEN=${PREVIEW}   (type your whole token here)`,
          'nssm install FounderOSRunner "C:\\Program Files\\nodejs\\node.exe" C:\\npm\\founderos-runner.js start',
          'nssm set FounderOSRunner AppDirectory C:\\Users\\me',
          expect.stringMatching(
            /^nssm set FounderOSRunner AppEnvironmentExtra FOUNDEROS_RUNNER_TOKEN=%FOUNDEROS_RUNNER_TOKEN% FOUNDEROS_RUNNER_URL=https:\/\/founderos\.example\.com .*FOUNDEROS_CODEX_BIN=\/opt\/codex$/,
          ),
          'nssm set FounderOSRunner AppExit Default Restart',
          'nssm set FounderOSRunner AppExit 2 Exit',
          'nssm set FounderOSRunner AppExit 3 Exit',
          'nssm set FounderOSRunner AppStopMethodConsole 960000',
          'nssm set FounderOSRunner AppStdout C:\\Users\\me\\founderos-runner.log',
          'nssm start FounderOSRunner',
        ]),
      );
      expect(output).not.toContain(TOKEN);
      expect(ran).toEqual([]);
    });

    it('should print the uninstall and status steps of each platform', async () => {
      await service('linux', ['uninstall', '--dry-run']);
      expect(lines()).toEqual(
        expect.arrayContaining([
          'would run: systemctl --user disable --now founderos-runner',
          `would remove ${join(home, '.config', 'systemd', 'user', 'founderos-runner.service')}`,
        ]),
      );
      output = '';
      await service('darwin', ['uninstall', '--dry-run']);
      expect(lines()).toContain(`would run: launchctl unload -w ${join(home, 'Library', 'LaunchAgents', 'dev.founderos.runner.plist')}`);
      output = '';
      await service('win32', ['uninstall', '--dry-run']);
      expect(lines()).toEqual(expect.arrayContaining(['nssm stop FounderOSRunner', 'nssm remove FounderOSRunner confirm']));
    });
  });

  it('should install on Linux: the real token in a 0600 file, never on screen, then enable it', async () => {
    const envPath = join(home, '.config', 'founderos-runner', 'env');
    // A leftover file others could read must not stay readable once it holds the token.
    mkdirSync(join(envPath, '..'), { recursive: true });
    writeFileSync(envPath, 'old');
    chmodSync(envPath, 0o644);

    expect(await service('linux', ['install', ...SETTINGS])).toBe(0);
    expect(statSync(envPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(envPath, 'utf8')).toContain(`FOUNDEROS_RUNNER_TOKEN=${TOKEN}\n`);
    const unitPath = join(home, '.config', 'systemd', 'user', 'founderos-runner.service');
    expect(readFileSync(unitPath, 'utf8')).toContain(`EnvironmentFile=${envPath}\n`);
    expect(ran).toEqual([
      ['systemctl', '--user', 'daemon-reload'],
      ['systemctl', '--user', 'enable', '--now', 'founderos-runner'],
    ]);
    expect(output).toContain(`wrote ${envPath} (mode 0600)`);
    expect(output).not.toContain(TOKEN);

    output = '';
    expect(await service('linux', ['status'])).toBe(0);
    expect(lines()).toEqual(expect.arrayContaining([`systemd unit: ${unitPath} (mode 0644)`, `settings: ${envPath} (mode 0600)`]));

    expect(await service('linux', ['uninstall'])).toBe(0);
    expect(existsSync(unitPath) || existsSync(envPath)).toBe(false);
    expect(ran.slice(-2)).toEqual([
      ['systemctl', '--user', 'disable', '--now', 'founderos-runner'],
      ['systemctl', '--user', 'daemon-reload'],
    ]);
    expect(await service('linux', ['status'])).toBe(1);
  });

  it('should install on macOS: the plist is 0600 because it holds the token', async () => {
    expect(await service('darwin', ['install', ...SETTINGS])).toBe(0);
    const plistPath = join(home, 'Library', 'LaunchAgents', 'dev.founderos.runner.plist');
    expect(statSync(plistPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(plistPath, 'utf8')).toContain(`<string>${TOKEN}</string>`);
    expect(ran.at(-1)).toEqual(['launchctl', 'load', '-w', plistPath]);
    expect(output).not.toContain(TOKEN);
  });

  it("should warn when the CLI runs from npx's cache, which npm may clean", async () => {
    const cliPath = '/home/me/.npm/_npx/1a2b/node_modules/@founderos/runner/dist/bin/founderos-runner.js';
    expect(await serviceCommand(['install', '--dry-run', ...SETTINGS], { ...deps('linux'), cliPath })).toBe(0);
    expect(lines()).toContain(
      `note: warning: ${cliPath} is in npx's cache, which npm may clean; install it for good first (npm install -g @founderos/runner), then run founderos-runner service install`,
    );
  });

  it('should warn that --token is visible to every local user while the install runs', async () => {
    expect(await service('linux', ['install', '--dry-run', ...SETTINGS])).toBe(0);
    expect(lines()).toContainEqual(
      expect.stringMatching(
        /^note: warning: the token \(fos_s3Cr…\) was given as --token on the command line, where every user of this machine can read it/,
      ),
    );
  });

  it('should keep a token that came from --token-file in that file: the service reads the file, never a copy', async () => {
    const tokenFile = join(home, 'runner-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const settings = [`--token-file=${tokenFile}`, ...SETTINGS.slice(1)];
    expect(await service('linux', ['install', ...settings])).toBe(0);
    const envFile = readFileSync(join(home, '.config', 'founderos-runner', 'env'), 'utf8');
    expect(envFile).toContain(`FOUNDEROS_RUNNER_TOKEN_FILE=${tokenFile}\n`);
    expect(envFile).not.toContain(TOKEN);
    expect(output).not.toContain('--token on the command line');

    output = '';
    expect(await service('win32', ['install', '--dry-run', ...settings])).toBe(0);
    expect(output).not.toContain('set FOUNDEROS_RUNNER_TOKEN=');
    expect(output).not.toContain('%FOUNDEROS_RUNNER_TOKEN%');
    expect(output).toContain(`FOUNDEROS_RUNNER_TOKEN_FILE=${tokenFile}`);
  });

  it('should say which command failed, keep the files and exit 1', async () => {
    expect(await service('linux', ['install', ...SETTINGS], 1)).toBe(1);
    expect(output).toContain('failed: systemctl --user daemon-reload exited 1; the files are in place');
    expect(ran).toHaveLength(1);
  });

  it('should refuse the settings of start with the same messages, exit 2, writing nothing', async () => {
    expect(await service('linux', ['install', '--server-url=http://founderos.example.com'])).toBe(2);
    expect(stderrText()).toContain('config error: FOUNDEROS_RUNNER_TOKEN is required');
    expect(stderrText()).toContain('uses plain http to a host that is not this machine');
    expect(existsSync(join(home, '.config'))).toBe(false);
  });

  it('should refuse an unknown platform, an unknown action, and settings where they do not apply', async () => {
    expect(await service('linux', ['install', '--platform=aix', ...SETTINGS])).toBe(2);
    expect(stderrText()).toContain('config error: --platform "aix" must be one of linux | darwin | win32');
    expect(await service('freebsd', ['status'])).toBe(2);
    expect(stderrText()).toContain('services are supported on linux, darwin, win32, not freebsd');
    expect(await service('linux', ['restart'])).toBe(2);
    expect(stderrText()).toContain('unknown service command "restart"');
    expect(await service('linux', ['status', `--token=${TOKEN}`])).toBe(2);
    expect(stderrText()).toContain('unknown flag(s): --token. Run "founderos-runner service --help"');
  });

  it('should exit 0 from "service run" on a bad configuration, so that launchd does not restart it', async () => {
    expect(await serviceCommand(['run', '--timeout-sec=0'], { ...deps('darwin'), env: {} })).toBe(0);
    expect(stderrText()).toContain('config error: FOUNDEROS_RUNNER_TOKEN is required');
    expect(stderrText()).toContain('exiting 0 instead of 2 so that launchd does not restart it');
  });
});
