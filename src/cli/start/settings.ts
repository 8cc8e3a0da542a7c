import { agentClis } from '../../agents/index.js';
import { parseFlagRecords, type FlagDeclaration } from '../args.js';
import { ConfigError } from '../command.js';
import { resolve } from 'node:path';
import { TOKEN_PATTERN } from '../../protocol/types.js';
import { defaultSpoolDir } from '../../streams/spool.js';
import { LOG_FORMATS, LOG_LEVELS, preview, type LogFormat, type LogLevel } from '../../runner/logger.js';
import { readTokenFile, type TokenFileOwner } from './token-file.js';

export interface RunnerConfig {
  token: string;
  /** The file the token was read from (absolute), when it came from one: a service then reads the file, not a copy. */
  tokenFile?: string;
  serverUrl: string;
  /** The binary of each agent CLI, by adapter name (`claude`, `codex`, …). */
  agentBins: Record<string, string>;
  /** Whether jobs of the `process` adapter, which name the program to run, may run here. */
  allowProcessJobs: boolean;
  /** The ceiling on any job's run time; a job may ask for less. */
  timeoutSec: number;
  /** Where each job's batches and completion wait until the server accepts them. */
  spoolDir: string;
  /** How many jobs run at once. */
  concurrency: number;
  /** Exit after this many jobs (`--once` is 1); undefined: run until stopped. */
  maxJobs?: number;
  /** Serve /metrics and /healthz on this loopback port; undefined: no metrics server. */
  metricsPort?: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

/**
 * One setting of `start`, declared once: its flag (also its key in the config file), its environment
 * variable, how its value is checked, its default and its usage text. Parsing, the config file, `--help`
 * and the service files are all derived from these declarations.
 */
export interface Setting {
  flag: string;
  env?: string;
  /** `count` is a whole number within `range`; the config file then takes a JSON number too. */
  type: 'text' | 'count' | 'switch';
  /** For a count: what it counts (for messages), and its bounds. */
  what?: string;
  range?: readonly [number, number];
  fallback?: string;
  /** How `--help` states a default that is not a plain value (a path that depends on the machine). */
  defaultText?: string;
  placeholder?: string;
  usage: string;
}

export const MAX_CONCURRENCY = 16;
export const MAX_TIMEOUT_SEC = 3600;

const SETTINGS = {
  token: {
    flag: 'token',
    env: 'FOUNDEROS_RUNNER_TOKEN',
    type: 'text',
    placeholder: 'fos_…',
    usage: 'runner token (required, or --token-file); prefer the variable: a flag is visible to every local user in ps',
  },
  tokenFile: {
    flag: 'token-file',
    env: 'FOUNDEROS_RUNNER_TOKEN_FILE',
    type: 'text',
    placeholder: 'PATH',
    usage: 'read the token from a file that is yours alone (mode 0600)',
  },
  serverUrl: {
    flag: 'server-url',
    env: 'FOUNDEROS_RUNNER_URL',
    type: 'text',
    placeholder: 'https://…',
    usage: 'server base URL (required; http only to this machine)',
  },
  timeoutSec: {
    flag: 'timeout-sec',
    env: 'FOUNDEROS_RUNNER_TIMEOUT_SEC',
    type: 'count',
    what: 'timeout in seconds',
    range: [1, MAX_TIMEOUT_SEC],
    fallback: '600',
    placeholder: 'N',
    usage: `ceiling on a job's run time, 1..${MAX_TIMEOUT_SEC}`,
  },
  concurrency: {
    flag: 'concurrency',
    env: 'FOUNDEROS_RUNNER_CONCURRENCY',
    type: 'count',
    what: 'concurrency',
    range: [1, MAX_CONCURRENCY],
    fallback: '1',
    placeholder: 'N',
    usage: `how many jobs run at once, 1..${MAX_CONCURRENCY}`,
  },
  maxJobs: {
    flag: 'max-jobs',
    env: 'FOUNDEROS_RUNNER_MAX_JOBS',
    type: 'count',
    what: 'max jobs',
    range: [1, Number.MAX_SAFE_INTEGER],
    placeholder: 'N',
    usage: 'exit after this many jobs (default: run until stopped)',
  },
  spoolDir: {
    flag: 'spool-dir',
    env: 'FOUNDEROS_RUNNER_SPOOL_DIR',
    type: 'text',
    defaultText: '$XDG_STATE_HOME/founderos-runner/spool, else ~/.local/state/…',
    placeholder: 'PATH',
    usage: "where each job's events wait until the server has them",
  },
  metricsPort: {
    flag: 'metrics-port',
    env: 'FOUNDEROS_RUNNER_METRICS_PORT',
    type: 'count',
    what: 'metrics port',
    range: [1, 65_535],
    placeholder: 'PORT',
    usage: 'serve /metrics and /healthz on 127.0.0.1:PORT (default: none)',
  },
  logLevel: {
    flag: 'log-level',
    env: 'FOUNDEROS_RUNNER_LOG_LEVEL',
    type: 'text',
    fallback: 'info',
    placeholder: 'LEVEL',
    usage: LOG_LEVELS.join(' | '),
  },
  logFormat: {
    flag: 'log-format',
    env: 'FOUNDEROS_RUNNER_LOG_FORMAT',
    type: 'text',
    fallback: 'text',
    placeholder: 'FORMAT',
    usage: LOG_FORMATS.join(' | '),
  },
  allowProcessJobs: {
    flag: 'allow-process-jobs',
    env: 'FOUNDEROS_RUNNER_ALLOW_PROCESS_JOBS',
    type: 'switch',
    usage: 'run jobs of the process adapter, which name the program to run (variable: 1, true or yes)',
  },
  once: { flag: 'once', type: 'switch', usage: 'run one job, then exit (like --max-jobs=1)' },
} satisfies Record<Exclude<keyof RunnerConfig, 'agentBins'> | 'once', Setting>;

/** `--claude-bin` / FOUNDEROS_CLAUDE_BIN, `--codex-bin` / FOUNDEROS_CODEX_BIN, … one per agent CLI. */
const AGENT_BIN_SETTINGS: Record<string, Setting> = Object.fromEntries(
  agentClis.map((adapter) => [
    adapter.name,
    {
      flag: `${adapter.name}-bin`,
      env: `FOUNDEROS_${adapter.name.toUpperCase()}_BIN`,
      type: 'text',
      fallback: adapter.defaultBin,
      placeholder: 'PATH',
      usage: `${adapter.name} binary`,
    },
  ]),
);

/** Every setting of `start`, in the order `--help` shows them. */
export const START_SETTINGS: readonly Setting[] = [...Object.values(SETTINGS), ...Object.values(AGENT_BIN_SETTINGS)];

/** `--config <path>`: the one flag of `start` that is not a setting, so it is never a key of the file itself. */
export const CONFIG_FLAG = 'config';
const CONFIG_DECLARATION: FlagDeclaration = {
  flag: CONFIG_FLAG,
  kind: 'value',
  placeholder: 'PATH',
  defaultText: './founderos-runner.json, else $XDG_CONFIG_HOME/founderos-runner/config.json',
  usage: 'settings as JSON, keys = flag names; flags > env > file > defaults',
};

function flagOf(setting: Setting): FlagDeclaration {
  return {
    flag: setting.flag,
    kind: setting.type === 'switch' ? 'boolean' : 'value',
    placeholder: setting.placeholder,
    env: setting.env,
    defaultText: setting.defaultText ?? setting.fallback,
    usage: setting.usage,
  };
}

/** The flags of `start`, which `doctor` and `service install` take too. */
export const START_FLAGS: readonly FlagDeclaration[] = [...START_SETTINGS.map(flagOf), CONFIG_DECLARATION];

export function settingFor(flag: string): Setting | undefined {
  return START_SETTINGS.find((setting) => setting.flag === flag);
}

export const START_COMMAND = 'founderos-runner start';

/** The flags of `start` (and `extra`), as the values and switches that `resolveRunnerConfig` takes. */
export function parseStartFlags(
  argv: readonly string[],
  extra: readonly FlagDeclaration[] = [],
  helpCommand = START_COMMAND,
): ReturnType<typeof parseFlagRecords> {
  return parseFlagRecords(argv, [...START_FLAGS, ...extra], helpCommand);
}

/** A count within its declared range, or the problem with it (what, the value, the bounds, where to set it). */
export function countProblem(setting: Setting, text: string): string | undefined {
  const [min, max] = setting.range!;
  const value = Number(text);
  if (/^\d+$/.test(text) && value >= min && value <= max) return undefined;
  return `must be a whole number from ${min} to ${max}`;
}

/**
 * Flags override environment variables, which override the config file (`file`, see config-file.ts), which
 * overrides defaults; every problem is reported at once.
 */
export function resolveRunnerConfig(
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  booleans: Record<string, boolean> = {},
  file: FileSettings = NO_FILE_SETTINGS,
): RunnerConfig {
  const problems: string[] = [];
  const read = (setting: Setting): string | undefined => settingValue(setting, flags, env, file).value;

  const { token, tokenFile, problem: tokenProblem } = resolveToken(flags, env, file);
  if (tokenProblem) problems.push(`config error: ${tokenProblem}`);

  const serverUrl = read(SETTINGS.serverUrl);
  if (!serverUrl)
    problems.push(`config error: ${SETTINGS.serverUrl.env} is required (pass --server-url=https://… or set ${SETTINGS.serverUrl.env})`);
  else {
    const problem = serverUrlProblem(serverUrl);
    if (problem) problems.push(`config error: server URL ${JSON.stringify(serverUrl)} ${problem}`);
  }

  /** A count within its declared range, or undefined when the setting is absent. */
  const count = (setting: Setting): number | undefined => {
    const text = read(setting);
    if (text === undefined) return undefined;
    const problem = countProblem(setting, text);
    if (problem === undefined) return Number(text);
    problems.push(`config error: ${setting.what} ${JSON.stringify(text)} ${problem} (--${setting.flag} or ${setting.env})`);
    return undefined;
  };
  const timeoutSec = count(SETTINGS.timeoutSec)!;
  const concurrency = count(SETTINGS.concurrency)!;
  const metricsPort = count(SETTINGS.metricsPort);
  const once = booleans[SETTINGS.once.flag] === true || file.booleans[SETTINGS.once.flag] === true;
  const maxJobs = count(SETTINGS.maxJobs) ?? (once ? 1 : undefined);
  if (once && read(SETTINGS.maxJobs) !== undefined)
    problems.push('config error: --once and --max-jobs both say when to stop; give one of them');

  const logLevel = read(SETTINGS.logLevel)!;
  if (!isOneOf(LOG_LEVELS, logLevel))
    problems.push(`config error: log level ${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(' | ')}`);
  const logFormat = read(SETTINGS.logFormat)!;
  if (!isOneOf(LOG_FORMATS, logFormat))
    problems.push(`config error: log format ${JSON.stringify(logFormat)} must be one of ${LOG_FORMATS.join(' | ')}`);

  if (problems.length) throw new ConfigError(problems);
  return {
    token: token!,
    ...(tokenFile !== undefined && { tokenFile }),
    serverUrl: serverUrl!.replace(/\/+$/, ''),
    agentBins: Object.fromEntries(Object.entries(AGENT_BIN_SETTINGS).map(([name, setting]) => [name, read(setting)!])),
    allowProcessJobs:
      booleans[SETTINGS.allowProcessJobs.flag] === true ||
      /^(1|true|yes)$/i.test(env[SETTINGS.allowProcessJobs.env] ?? '') ||
      file.booleans[SETTINGS.allowProcessJobs.flag] === true,
    timeoutSec,
    spoolDir: read(SETTINGS.spoolDir) ?? defaultSpoolDir(env),
    concurrency,
    maxJobs,
    metricsPort,
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat,
  };
}

const SOURCE_RANK: Record<SettingSource, number> = { flag: 3, env: 2, file: 1, default: 0 };

/**
 * The token, from `--token` or from the file `--token-file` names, whichever is given at the higher level (flags > env >
 * file); both at the same level is a mistake worth saying. Problems never show more of a token than its preview.
 */
export function resolveToken(
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  file: FileSettings = NO_FILE_SETTINGS,
  owner?: TokenFileOwner,
): { token?: string; tokenFile?: string; problem?: string } {
  const direct = settingValue(SETTINGS.token, flags, env, file);
  const named = settingValue(SETTINGS.tokenFile, flags, env, file);
  if (direct.value === undefined && named.value === undefined)
    return {
      problem:
        `${SETTINGS.token.env} is required (set ${SETTINGS.token.env}, or pass --token-file=PATH of a file only you can read; ` +
        'issue a token from the dashboard → Settings → Runner Tokens)',
    };
  if (direct.value !== undefined && named.value !== undefined && SOURCE_RANK[direct.source] === SOURCE_RANK[named.source])
    return { problem: `both a token and a token file are given (${SOURCE_NAMES[direct.source]}); give only one of them` };
  if (named.value !== undefined && (direct.value === undefined || SOURCE_RANK[named.source] > SOURCE_RANK[direct.source])) {
    const tokenFile = resolve(named.value);
    const read = readTokenFile(tokenFile, owner);
    return 'token' in read ? { token: read.token, tokenFile } : { problem: read.problem };
  }
  const token = direct.value!;
  if (!TOKEN_PATTERN.test(token))
    return {
      problem:
        `token ${preview(token)} (${token.length} characters) must match fos_<32 alphanumeric>; ` +
        'copy it again or re-issue a fresh token from the dashboard',
    };
  return { token };
}

const SOURCE_NAMES: Record<SettingSource, string> = {
  flag: '--token and --token-file',
  env: `${SETTINGS.token.env} and ${SETTINGS.tokenFile.env}`,
  file: 'the config file\'s "token" and "token-file"',
  default: 'defaults',
};

/** A token on the command line is in every local user's `ps`, and in the shell's history. */
export function commandLineTokenWarnings(flags: Record<string, string>): string[] {
  if (flags[SETTINGS.token.flag] === undefined) return [];
  return [
    `the token (${preview(flags[SETTINGS.token.flag]!)}) was given as --token on the command line, ` +
      'where every user of this machine can read it (ps, /proc/<pid>/cmdline); ' +
      `set ${SETTINGS.token.env} in the environment instead, or put it in a file only you can read and pass --token-file=PATH`,
  ];
}

/** Why a server URL cannot carry a runner token, or undefined when it can. */
export function serverUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL; give the base URL, e.g. https://founderos.example.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must start with https:// (got ${url.protocol})`;
  if (url.username || url.password) return 'must not contain a user name or password; the runner sends its token itself';
  if (url.search || url.hash) return 'must not have a query or fragment; give the base URL only';
  if (url.protocol === 'http:' && !isLoopback(url.hostname))
    return 'uses plain http to a host that is not this machine, which would send the token in clear text; use https://';
  return undefined;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function isOneOf<T extends string>(choices: readonly T[], value: string): value is T {
  return (choices as readonly string[]).includes(value);
}

/** Values from a config file, keyed by flag name: below flags and environment, above the defaults. */
export interface FileSettings {
  values: Readonly<Record<string, string>>;
  booleans: Readonly<Record<string, boolean>>;
}
export const NO_FILE_SETTINGS: FileSettings = { values: {}, booleans: {} };

/** Where a setting's value came from: the doctor holds a CLI the user chose to a higher standard than a default. */
export type SettingSource = 'flag' | 'env' | 'file' | 'default';

/** The one place that applies the precedence flags > env > file > defaults. */
function settingValue(
  setting: Setting,
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  file: FileSettings,
): { value?: string; source: SettingSource } {
  if (flags[setting.flag] !== undefined) return { value: flags[setting.flag], source: 'flag' };
  const fromEnv = setting.env ? env[setting.env] : undefined;
  if (fromEnv) return { value: fromEnv, source: 'env' };
  if (file.values[setting.flag] !== undefined) return { value: file.values[setting.flag], source: 'file' };
  return { value: setting.fallback, source: 'default' };
}

/** One setting by its flag name (`spool-dir`, …) with its source, without validating anything else. */
export function readSetting(
  flag: string,
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  file: FileSettings = NO_FILE_SETTINGS,
): { value?: string; source: SettingSource } {
  const setting = settingFor(flag);
  if (!setting) throw new Error(`no setting --${flag}`);
  return settingValue(setting, flags, env, file);
}

/** Each agent CLI's binary and where it was chosen; unlike `resolveRunnerConfig`, this needs no valid token. */
export function resolveAgentBins(
  flags: Record<string, string>,
  env: NodeJS.ProcessEnv,
  file: FileSettings = NO_FILE_SETTINGS,
): Record<string, { bin: string; source: SettingSource }> {
  return Object.fromEntries(
    Object.entries(AGENT_BIN_SETTINGS).map(([name, setting]) => {
      const { value, source } = settingValue(setting, flags, env, file);
      return [name, { bin: value!, source }];
    }),
  );
}

/** The environment variables that make `start` run with `config`: what a service file bakes in. */
export function configEnvironment(config: RunnerConfig): Record<string, string> {
  const variables: Record<string, string> = {
    // A token read from a file stays in that file: the service reads it at each start, so replacing the file rotates it.
    ...(config.tokenFile !== undefined ? { [SETTINGS.tokenFile.env]: config.tokenFile } : { [SETTINGS.token.env]: config.token }),
    [SETTINGS.serverUrl.env]: config.serverUrl,
    [SETTINGS.timeoutSec.env]: String(config.timeoutSec),
    // Absolute, so that the service spools where `doctor` checked, whatever XDG_STATE_HOME the service manager sets.
    [SETTINGS.spoolDir.env]: config.spoolDir,
    [SETTINGS.concurrency.env]: String(config.concurrency),
    ...(config.metricsPort !== undefined && { [SETTINGS.metricsPort.env]: String(config.metricsPort) }),
    [SETTINGS.logLevel.env]: config.logLevel,
    [SETTINGS.logFormat.env]: config.logFormat,
  };
  for (const [name, setting] of Object.entries(AGENT_BIN_SETTINGS)) {
    const bin = config.agentBins[name];
    if (bin !== undefined && bin !== setting.fallback) variables[setting.env!] = bin;
  }
  if (config.allowProcessJobs) variables[SETTINGS.allowProcessJobs.env] = '1';
  return variables;
}
