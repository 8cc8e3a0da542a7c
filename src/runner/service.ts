import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, posix, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_FLAG, loadConfigFile, processConfigFileLocation, type ConfigFileLocation } from './config-file.js';
import { commandLineTokenWarnings, ConfigError, configEnvironment, parseFlags, resolveRunnerConfig, START_BOOLEAN_FLAGS, START_FLAGS, type RunnerConfig } from './config.js';
import { preview } from './logger.js';
import { EXIT } from './exit-codes.js';
import { startCommand } from './start-command.js';
import { RUNNER_VERSION } from './version.js';

export const PLATFORMS = ['linux', 'darwin', 'win32'] as const;
export type ServicePlatform = (typeof PLATFORMS)[number];

export const SYSTEMD_UNIT = 'founderos-runner';
export const LAUNCHD_LABEL = 'dev.founderos.runner';
export const NSSM_SERVICE = 'FounderOSRunner';
/** What a stop waits beyond the longest job: the agent's kill grace (10 s) and the final report, with room to spare. */
const STOP_MARGIN_SEC = 60;
/** Seconds between restarts after a crash: long enough not to hammer a server that is down. */
const RESTART_DELAY_SEC = 10;

export interface ServiceDeps {
  home: string;
  platform: string;
  env: NodeJS.ProcessEnv;
  /** The Node that runs the service and the CLI script it runs: this very installation. */
  execPath: string;
  cliPath: string;
  location: ConfigFileLocation;
  run(argv: readonly string[]): Promise<{ code: number; output: string }>;
  write(text: string): void;
}

export function processServiceDeps(env: NodeJS.ProcessEnv = process.env): ServiceDeps {
  return {
    home: homedir(),
    platform: process.platform,
    env,
    execPath: process.execPath,
    // dist/runner/service.js → dist/bin/founderos-runner.js: the script, not the npm shim, which may not exist for a service.
    cliPath: fileURLToPath(new URL('../bin/founderos-runner.js', import.meta.url)),
    location: processConfigFileLocation(env),
    run: runCommand,
    write: (text) => void process.stdout.write(text),
  };
}

export const SERVICE_HELP = `founderos-runner service install | uninstall | status [--dry-run] [--platform linux|darwin|win32] [start flags]

  install    writes the service for this user with the settings of "start" (flags > environment > config file)
             and starts it: a systemd user unit (Linux), a launchd agent (macOS), or prints the NSSM commands (Windows)
  uninstall  stops the service and removes its files
  status     shows what is installed and what the service manager says
  --dry-run  prints every file (the token as its 8-character preview) and command, and changes nothing`;

/** A service manager's work as data, so that --dry-run prints exactly what a real run does. */
type Step =
  | { kind: 'write'; path: string; content: string; mode: number }
  | { kind: 'remove'; path: string }
  /** `mayFail`: expected to fail when nothing is installed or loaded yet (a first install, a second uninstall). */
  | { kind: 'run'; argv: string[]; mayFail?: boolean }
  /** A command for the user to run; never run here (NSSM needs an administrator prompt). */
  | { kind: 'print'; line: string }
  | { kind: 'show'; path: string; label: string }
  | { kind: 'note'; text: string };

interface ServiceContext {
  home: string;
  execPath: string;
  cliPath: string;
  env: NodeJS.ProcessEnv;
}

interface ServiceManager {
  install(config: RunnerConfig, context: ServiceContext): Step[];
  uninstall(context: ServiceContext): Step[];
  status(context: ServiceContext): Step[];
}

/** `founderos-runner service <install|uninstall|status|run>`. */
export async function serviceCommand(argv: readonly string[], deps: ServiceDeps = processServiceDeps()): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'run') return runForLaunchd(rest, deps.env);
  if (action === undefined || action === '--help' || action === 'help') {
    deps.write(`${SERVICE_HELP}\n`);
    return action === undefined ? EXIT.config : EXIT.ok;
  }
  if (action !== 'install' && action !== 'uninstall' && action !== 'status') {
    process.stderr.write(`unknown service command ${JSON.stringify(action)}: use install, uninstall or status (see founderos-runner service --help)\n`);
    return EXIT.config;
  }
  let steps: Step[];
  let token: string | undefined;
  let dryRun: boolean;
  try {
    // Only install takes the settings of `start`: uninstall and status refuse them rather than ignore them.
    const { values, booleans } = parseFlags(rest, [...(action === 'install' ? [...START_FLAGS, CONFIG_FLAG] : []), 'platform'], [...(action === 'install' ? START_BOOLEAN_FLAGS : []), 'dry-run']);
    const platform = choosePlatform(values.platform, deps.platform);
    const manager = MANAGERS[platform];
    const context: ServiceContext = { home: deps.home, execPath: deps.execPath, cliPath: deps.cliPath, env: deps.env };
    dryRun = booleans['dry-run'] === true;
    if (action === 'install') {
      const file = loadConfigFile(values[CONFIG_FLAG], deps.location);
      const config = resolveRunnerConfig(values, deps.env, booleans, file);
      token = config.token;
      const warnings = [...file.warnings, ...commandLineTokenWarnings(values), ...npxCacheWarning(deps.cliPath)].map((text): Step => ({ kind: 'note', text: `warning: ${text}` }));
      steps = [...warnings, ...manager.install(config, context)];
    } else {
      steps = action === 'uninstall' ? manager.uninstall(context) : manager.status(context);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.config;
    }
    throw error;
  }
  // Every line printed goes through here: the token never reaches the terminal, only the files.
  const say = (text: string) => deps.write(`${token ? text.split(token).join(preview(token)) : text}\n`);
  const ok = dryRun ? printSteps(steps, say) : await performSteps(steps, deps, say);
  if (action === 'status') return steps.some((step) => step.kind === 'show' && existsSync(step.path)) ? EXIT.ok : EXIT.failure;
  return ok ? EXIT.ok : EXIT.failure;
}

function choosePlatform(requested: string | undefined, current: string): ServicePlatform {
  const platform = requested ?? current;
  if ((PLATFORMS as readonly string[]).includes(platform)) return platform as ServicePlatform;
  throw new ConfigError([
    requested === undefined
      ? `config error: services are supported on ${PLATFORMS.join(', ')}, not ${current}; run the runner under your own supervisor, or pass --platform to print another platform's files`
      : `config error: --platform ${JSON.stringify(requested)} must be one of ${PLATFORMS.join(' | ')}`,
  ]);
}

/** A service that runs a script from npx's cache breaks when that cache is cleaned. */
function npxCacheWarning(cliPath: string): string[] {
  return /[\\/]_npx[\\/]/.test(cliPath)
    ? [`${cliPath} is in npx's cache, which npm may clean; install it for good first (npm install -g @founderos/runner), then run founderos-runner service install`]
    : [];
}

/**
 * `service run`, what the launchd agent runs: `start`, except that a bad configuration (2) or a rejected
 * token (3) exits 0. launchd's KeepAlive can only tell success from failure, and restarting either of those
 * would loop forever against the server; the reason is in the log, and `service install` loads it again.
 */
async function runForLaunchd(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const code = await startCommand(argv, env);
  if (code !== EXIT.config && code !== EXIT.tokenRejected) return code;
  process.stderr.write(`founderos-runner: exiting 0 instead of ${code} so that launchd does not restart it; fix the problem above, then run founderos-runner service install again\n`);
  return EXIT.ok;
}

// ---- Linux: a systemd user unit, its settings in an environment file only the user can read ----

const systemd: ServiceManager = {
  install(config, { home, execPath, cliPath, env }) {
    const { unitPath, envPath } = systemdPaths(home);
    const unit = [
      `# Written by founderos-runner service install (v${RUNNER_VERSION}); run it again to change the settings.`,
      '[Unit]',
      'Description=FounderOS runner: runs FounderOS agent jobs on this machine',
      '',
      '[Service]',
      `ExecStart=${[execPath, cliPath, 'start'].map(systemdQuote).join(' ')}`,
      `EnvironmentFile=${envPath.replace(/%/g, '%%')}`,
      `WorkingDirectory=${home.replace(/%/g, '%%')}`,
      'Restart=on-failure',
      `RestartSec=${RESTART_DELAY_SEC}`,
      '# 2 = bad configuration, 3 = token rejected: a restart cannot fix either (journalctl --user -u founderos-runner says why).',
      'RestartPreventExitStatus=2 3',
      '# SIGTERM to the runner alone, which stops polling and lets the running job finish; SIGKILL to the rest only after the timeout.',
      'KillMode=mixed',
      `# The longest job (--timeout-sec ${config.timeoutSec}) plus the agent's kill grace and the final report.`,
      `TimeoutStopSec=${config.timeoutSec + STOP_MARGIN_SEC}`,
      '',
      '[Install]',
      'WantedBy=default.target',
      '',
    ].join('\n');
    return [
      { kind: 'write', path: envPath, content: envFileContent(serviceEnvironment(config, env)), mode: 0o600 },
      { kind: 'write', path: unitPath, content: unit, mode: 0o644 },
      { kind: 'run', argv: ['systemctl', '--user', 'daemon-reload'] },
      { kind: 'run', argv: ['systemctl', '--user', 'enable', '--now', SYSTEMD_UNIT] },
      { kind: 'note', text: `if it was already running: systemctl --user restart ${SYSTEMD_UNIT} applies the new settings (after the running job)` },
      { kind: 'note', text: 'to keep it running while you are logged out: loginctl enable-linger $USER' },
      { kind: 'note', text: `logs: journalctl --user -u ${SYSTEMD_UNIT} -f` },
    ];
  },
  uninstall({ home }) {
    const { unitPath, envPath } = systemdPaths(home);
    return [
      { kind: 'note', text: 'stopping lets a running job finish first' },
      { kind: 'run', argv: ['systemctl', '--user', 'disable', '--now', SYSTEMD_UNIT], mayFail: true },
      { kind: 'remove', path: unitPath },
      { kind: 'remove', path: envPath },
      { kind: 'run', argv: ['systemctl', '--user', 'daemon-reload'], mayFail: true },
    ];
  },
  status({ home }) {
    const { unitPath, envPath } = systemdPaths(home);
    return [
      { kind: 'show', path: unitPath, label: 'systemd unit' },
      { kind: 'show', path: envPath, label: 'settings' },
      { kind: 'run', argv: ['systemctl', '--user', 'status', SYSTEMD_UNIT, '--no-pager', '--lines=5'], mayFail: true },
    ];
  },
};

function systemdPaths(home: string) {
  return {
    unitPath: posix.join(home, '.config', 'systemd', 'user', `${SYSTEMD_UNIT}.service`),
    envPath: posix.join(home, '.config', 'founderos-runner', 'env'),
  };
}

/** systemd splits ExecStart on spaces, honours double quotes, and expands `%` specifiers and `$` variables. */
function systemdQuote(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[\w@%+=:,./$-]+$/.test(escaped) ? escaped : `"${escaped.replace(/[\\"]/g, '\\$&')}"`;
}

/** `KEY=value` lines; a value with anything beyond a safe set goes in double quotes, escaped. */
function envFileContent(variables: Record<string, string>): string {
  const lines = Object.entries(variables).map(([name, value]) => (/^[\w@%+=:,./-]*$/.test(value) ? `${name}=${value}` : `${name}="${value.replace(/[\\"$`]/g, '\\$&')}"`));
  return `# founderos-runner service settings: this file holds the runner token; keep it mode 0600.\n${lines.join('\n')}\n`;
}

/**
 * The settings of `start`, plus this shell's PATH: a service manager starts with a minimal PATH, where the
 * agent CLIs (often in ~/.local/bin or an nvm folder) and the tools agents call (git, node) are missing.
 */
function serviceEnvironment(config: RunnerConfig, env: NodeJS.ProcessEnv): Record<string, string> {
  return { ...configEnvironment(config), ...(env.PATH ? { PATH: env.PATH } : {}) };
}

// ---- macOS: a launchd agent; launchd has no environment file, so the plist holds the token and is mode 0600 ----

const launchd: ServiceManager = {
  install(config, { home, execPath, cliPath, env }) {
    const { plistPath, logPath } = launchdPaths(home);
    const stringDict = (entries: Record<string, string>) =>
      `<dict>\n${Object.entries(entries).map(([key, value]) => `      <key>${xml(key)}</key>\n      <string>${xml(value)}</string>`).join('\n')}\n    </dict>`;
    const plist = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by founderos-runner service install (v${RUNNER_VERSION}); it holds the runner token: keep it mode 0600. -->
<plist version="1.0">
  <dict>
    <key>Label</key>
    <string>${LAUNCHD_LABEL}</string>
    <key>ProgramArguments</key>
    <array>
${[execPath, cliPath, 'service', 'run'].map((arg) => `      <string>${xml(arg)}</string>`).join('\n')}
    </array>
    <key>EnvironmentVariables</key>
    ${stringDict(serviceEnvironment(config, env))}
    <key>WorkingDirectory</key>
    <string>${xml(home)}</string>
    <key>RunAtLoad</key>
    <true/>
    <!-- Restart after a failure only; "service run" exits 0 on a bad configuration or a rejected token, so those do not loop. -->
    <key>KeepAlive</key>
    <dict>
      <key>SuccessfulExit</key>
      <false/>
    </dict>
    <key>ThrottleInterval</key>
    <integer>${RESTART_DELAY_SEC}</integer>
    <!-- The longest job plus the agent's kill grace and the final report, before launchd sends SIGKILL. -->
    <key>ExitTimeOut</key>
    <integer>${config.timeoutSec + STOP_MARGIN_SEC}</integer>
    <key>StandardOutPath</key>
    <string>${xml(logPath)}</string>
    <key>StandardErrorPath</key>
    <string>${xml(logPath)}</string>
  </dict>
</plist>
`;
    return [
      { kind: 'write', path: plistPath, content: plist, mode: 0o600 },
      // A reinstall replaces a loaded agent: unload first (fails harmlessly when it is not loaded).
      { kind: 'run', argv: ['launchctl', 'unload', plistPath], mayFail: true },
      { kind: 'run', argv: ['launchctl', 'load', '-w', plistPath] },
      { kind: 'note', text: `logs: tail -f ${logPath}` },
    ];
  },
  uninstall({ home }) {
    const { plistPath } = launchdPaths(home);
    return [
      { kind: 'run', argv: ['launchctl', 'unload', '-w', plistPath], mayFail: true },
      { kind: 'remove', path: plistPath },
    ];
  },
  status({ home }) {
    const { plistPath, logPath } = launchdPaths(home);
    return [
      { kind: 'show', path: plistPath, label: 'launchd agent' },
      { kind: 'show', path: logPath, label: 'log' },
      { kind: 'run', argv: ['launchctl', 'list', LAUNCHD_LABEL], mayFail: true },
    ];
  },
};

function launchdPaths(home: string) {
  return {
    plistPath: posix.join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`),
    logPath: posix.join(home, 'Library', 'Logs', 'founderos-runner.log'),
  };
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// ---- Windows: NSSM, printed for an administrator prompt; the token is read from the prompt's environment ----

const nssm: ServiceManager = {
  install(config, { home, execPath, cliPath }) {
    const logPath = win32.join(home, 'founderos-runner.log');
    // %FOUNDEROS_RUNNER_TOKEN% is expanded by cmd.exe: the token is never printed, and never in the shell history.
    // A token file needs neither: the service reads the file.
    const fromPrompt = config.tokenFile === undefined;
    const variables = Object.entries({ ...configEnvironment(config), ...(fromPrompt && { FOUNDEROS_RUNNER_TOKEN: '%FOUNDEROS_RUNNER_TOKEN%' }) }).map(([name, value]) => cmdQuote(`${name}=${value}`));
    const set = (...args: string[]) => ({ kind: 'print' as const, line: ['nssm', 'set', NSSM_SERVICE, ...args].join(' ') });
    return [
      { kind: 'note', text: 'NSSM (https://nssm.cc) needs an administrator prompt: open cmd.exe as administrator, then run:' },
      ...(fromPrompt ? [{ kind: 'print' as const, line: `set FOUNDEROS_RUNNER_TOKEN=${preview(config.token)}   (type your whole token here)` }] : []),
      { kind: 'print', line: ['nssm', 'install', NSSM_SERVICE, cmdQuote(execPath), cmdQuote(cliPath), 'start'].join(' ') },
      set('AppDirectory', cmdQuote(home)),
      set('AppEnvironmentExtra', ...variables),
      // The service-manager side of the exit codes: restart on failure, never on 2 (configuration) or 3 (token).
      set('AppExit', 'Default', 'Restart'),
      set('AppExit', '2', 'Exit'),
      set('AppExit', '3', 'Exit'),
      set('AppRestartDelay', String(RESTART_DELAY_SEC * 1000)),
      // Ctrl-C is the runner's graceful stop; wait for the longest job before NSSM escalates.
      set('AppStopMethodConsole', String((config.timeoutSec + STOP_MARGIN_SEC) * 1000)),
      set('AppStdout', cmdQuote(logPath)),
      set('AppStderr', cmdQuote(logPath)),
      { kind: 'note', text: `run it as you, where your agent CLI is logged in: nssm set ${NSSM_SERVICE} ObjectName .\\%USERNAME% <your password>` },
      { kind: 'print', line: `nssm start ${NSSM_SERVICE}` },
    ];
  },
  uninstall() {
    return [
      { kind: 'note', text: 'in an administrator prompt:' },
      { kind: 'print', line: `nssm stop ${NSSM_SERVICE}` },
      { kind: 'print', line: `nssm remove ${NSSM_SERVICE} confirm` },
    ];
  },
  status() {
    return [{ kind: 'print', line: `nssm status ${NSSM_SERVICE}` }];
  },
};

function cmdQuote(arg: string): string {
  return /^[^\s"&|<>^]+$/.test(arg) ? arg : `"${arg.replace(/"/g, '""')}"`;
}

const MANAGERS: Record<ServicePlatform, ServiceManager> = { linux: systemd, darwin: launchd, win32: nssm };

// ---- Carrying out the steps, or printing them ----

function printSteps(steps: readonly Step[], say: (text: string) => void): boolean {
  for (const step of steps) {
    switch (step.kind) {
      case 'write':
        say(`would write ${step.path} (mode ${modeText(step.mode)}):\n${step.content.replace(/^/gm, '    ').trimEnd()}`);
        break;
      case 'remove':
        say(`would remove ${step.path}`);
        break;
      case 'run':
        say(`would run: ${step.argv.join(' ')}`);
        break;
      case 'print':
        say(`  ${step.line}`);
        break;
      case 'show':
        say(`would show ${step.label}: ${step.path}`);
        break;
      case 'note':
        say(`note: ${step.text}`);
        break;
    }
  }
  return true;
}

async function performSteps(steps: readonly Step[], deps: ServiceDeps, say: (text: string) => void): Promise<boolean> {
  for (const step of steps) {
    switch (step.kind) {
      case 'write':
        writePrivately(step.path, step.content, step.mode);
        say(`wrote ${step.path} (mode ${modeText(step.mode)})`);
        break;
      case 'remove':
        if (existsSync(step.path)) {
          rmSync(step.path);
          say(`removed ${step.path}`);
        }
        break;
      case 'run': {
        const { code, output } = await deps.run(step.argv);
        say(`ran: ${step.argv.join(' ')} (exit ${code})${output.trim() ? `\n${output.trimEnd().replace(/^/gm, '    ')}` : ''}`);
        if (code !== 0 && !step.mayFail) {
          say(`failed: ${step.argv.join(' ')} exited ${code}; the files are in place, so fix the cause above and run that command yourself`);
          return false;
        }
        break;
      }
      case 'print':
        say(`  ${step.line}`);
        break;
      case 'show':
        say(`${step.label}: ${describeFile(step.path)}`);
        break;
      case 'note':
        say(`note: ${step.text}`);
        break;
    }
  }
  return true;
}

/**
 * Writes through a new temporary file created with `mode`, then renames it into place: an existing file
 * that was readable by others never holds the token, not even for a moment.
 */
function writePrivately(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode, flag: 'wx' });
  chmodSync(temporary, mode); // the umask may have narrowed it; make it exactly what was planned
  renameSync(temporary, path);
}

function describeFile(path: string): string {
  if (!existsSync(path)) return `${path} (not installed)`;
  return `${path} (mode ${modeText(statSync(path).mode & 0o777)})`;
}

function modeText(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function runCommand(argv: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
      resolve({ code, output: `${stdout}${stderr}${error && typeof error.code !== 'number' ? `${error.message}\n` : ''}` });
    });
  });
}
