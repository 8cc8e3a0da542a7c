import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatFlags, parseFlagRecords, type FlagDeclaration } from '../args.js';
import { ConfigError, runCommand } from '../command.js';
import { loadConfigFile, processConfigFileLocation, type ConfigFileLocation } from '../start/config-file.js';
import { CONFIG_FLAG, START_FLAGS } from '../start/declarations.js';
import { resolveRunnerConfig } from '../start/runner-config.js';
import { commandLineTokenWarnings } from '../start/token.js';
import { preview } from '../../runner/logger.js';
import { EXIT } from '../exit-codes.js';
import { startCommand } from '../start/command.js';
import { launchd } from './launchd.js';
import type { ServiceContext, ServiceManager, Step } from './manager.js';
import { nssm } from './nssm.js';
import { execServiceCommand, performSteps, printSteps, type RunServiceCommand } from './steps.js';
import { systemd } from './systemd.js';

export const PLATFORMS = ['linux', 'darwin', 'win32'] as const;
export type ServicePlatform = (typeof PLATFORMS)[number];

export interface ServiceDeps {
  home: string;
  platform: string;
  env: NodeJS.ProcessEnv;
  /** The Node that runs the service and the CLI script it runs: this very installation. */
  execPath: string;
  cliPath: string;
  location: ConfigFileLocation;
  run: RunServiceCommand;
  write(text: string): void;
}

export function processServiceDeps(env: NodeJS.ProcessEnv = process.env): ServiceDeps {
  return {
    home: homedir(),
    platform: process.platform,
    env,
    execPath: process.execPath,
    // dist/cli/service/index.js → dist/bin/founderos-runner.js: the script, not the npm shim, which may not exist for a service.
    cliPath: fileURLToPath(new URL('../../bin/founderos-runner.js', import.meta.url)),
    location: processConfigFileLocation(env),
    run: execServiceCommand,
    write: (text) => void process.stdout.write(text),
  };
}

const SERVICE_COMMAND = 'founderos-runner service';
const SERVICE_FLAGS: readonly FlagDeclaration[] = [
  { flag: 'dry-run', kind: 'boolean', usage: 'print every file (the token as its 8-character preview) and command, and change nothing' },
  {
    flag: 'platform',
    kind: 'value',
    placeholder: PLATFORMS.join('|'),
    defaultText: "this machine's",
    usage: "write the files of this platform's service manager",
  },
];

/** `founderos-runner service --help`, written from the declarations of its flags and those of `start`. */
export function serviceHelp(): string {
  return `Usage: ${SERVICE_COMMAND} install | uninstall | status [--dry-run] [--platform ${PLATFORMS.join('|')}] [start flags]

  install    writes the service for this user with the settings of "start" (flags > environment > config file)
             and starts it: a systemd user unit (Linux), a launchd agent (macOS), or prints the NSSM commands (Windows)
  uninstall  stops the service and removes its files
  status     shows what is installed and what the service manager says

${formatFlags(SERVICE_FLAGS)}

start flags (install only):
${formatFlags(START_FLAGS)}
`;
}

/** `founderos-runner service <install|uninstall|status|run>`. */
export async function serviceCommand(argv: readonly string[], deps: ServiceDeps = processServiceDeps()): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'run') return runForLaunchd(rest, deps.env);
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    deps.write(serviceHelp());
    return action === undefined ? EXIT.config : EXIT.ok;
  }
  return runCommand(SERVICE_COMMAND, { stderr: (text) => void process.stderr.write(text) }, async () => {
    if (action !== 'install' && action !== 'uninstall' && action !== 'status')
      throw new ConfigError(
        `unknown service command ${JSON.stringify(action)}: use install, uninstall or status (see founderos-runner service --help)`,
      );
    // Only install takes the settings of `start`: uninstall and status refuse them rather than ignore them.
    const { values, booleans, help } = parseFlagRecords(
      rest,
      action === 'install' ? [...START_FLAGS, ...SERVICE_FLAGS] : SERVICE_FLAGS,
      SERVICE_COMMAND,
    );
    if (help) {
      deps.write(serviceHelp());
      return EXIT.ok;
    }
    const platform = choosePlatform(values.platform, deps.platform);
    const manager = MANAGERS[platform];
    const context: ServiceContext = { home: deps.home, execPath: deps.execPath, cliPath: deps.cliPath, env: deps.env };
    let steps: Step[];
    let token: string | undefined;
    if (action === 'install') {
      const file = loadConfigFile(values[CONFIG_FLAG], deps.location);
      const config = resolveRunnerConfig(values, deps.env, booleans, file);
      token = config.token;
      const warnings = [...file.warnings, ...commandLineTokenWarnings(values), ...npxCacheWarning(deps.cliPath)].map(
        (text): Step => ({ kind: 'note', text: `warning: ${text}` }),
      );
      steps = [...warnings, ...manager.install(config, context)];
    } else {
      steps = action === 'uninstall' ? manager.uninstall(context) : manager.status(context);
    }
    // Every line printed goes through here: the token never reaches the terminal, only the files.
    const say = (text: string) => deps.write(`${token ? text.split(token).join(preview(token)) : text}\n`);
    const ok = booleans['dry-run'] === true ? printSteps(steps, say) : await performSteps(steps, deps.run, say);
    if (action === 'status') return steps.some((step) => step.kind === 'show' && existsSync(step.path)) ? EXIT.ok : EXIT.failure;
    return ok ? EXIT.ok : EXIT.failure;
  });
}

function choosePlatform(requested: string | undefined, current: string): ServicePlatform {
  const platform = requested ?? current;
  if ((PLATFORMS as readonly string[]).includes(platform)) return platform as ServicePlatform;
  throw new ConfigError([
    requested === undefined
      ? `config error: services are supported on ${PLATFORMS.join(', ')}, not ${current}; ` +
        "run the runner under your own supervisor, or pass --platform to print another platform's files"
      : `config error: --platform ${JSON.stringify(requested)} must be one of ${PLATFORMS.join(' | ')}`,
  ]);
}

/** A service that runs a script from npx's cache breaks when that cache is cleaned. */
function npxCacheWarning(cliPath: string): string[] {
  return /[\\/]_npx[\\/]/.test(cliPath)
    ? [
        `${cliPath} is in npx's cache, which npm may clean; ` +
          'install it for good first (npm install -g @founderos/runner), then run founderos-runner service install',
      ]
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
  process.stderr.write(
    `founderos-runner: exiting 0 instead of ${code} so that launchd does not restart it; ` +
      'fix the problem above, then run founderos-runner service install again\n',
  );
  return EXIT.ok;
}

const MANAGERS: Record<ServicePlatform, ServiceManager> = { linux: systemd, darwin: launchd, win32: nssm };
