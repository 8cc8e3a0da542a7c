import minimist from 'minimist';
import { agentClis } from '../agents/index.js';
import { resolve } from 'node:path';
import { TOKEN_PATTERN } from '../protocol/types.js';
import { defaultSpoolDir } from '../streams/spool.js';
import { LOG_FORMATS, LOG_LEVELS, preview, type LogFormat, type LogLevel } from './logger.js';
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

/** A configuration the runner cannot start with; each problem says what is wrong and how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

interface Setting {
  flag: string;
  env?: string;
  fallback?: string;
}

const SETTINGS = {
  token: { flag: 'token', env: 'FOUNDEROS_RUNNER_TOKEN' },
  tokenFile: { flag: 'token-file', env: 'FOUNDEROS_RUNNER_TOKEN_FILE' },
  serverUrl: { flag: 'server-url', env: 'FOUNDEROS_RUNNER_URL' },
  timeoutSec: { flag: 'timeout-sec', env: 'FOUNDEROS_RUNNER_TIMEOUT_SEC', fallback: '600' },
  spoolDir: { flag: 'spool-dir', env: 'FOUNDEROS_RUNNER_SPOOL_DIR' },
  concurrency: { flag: 'concurrency', env: 'FOUNDEROS_RUNNER_CONCURRENCY', fallback: '1' },
  maxJobs: { flag: 'max-jobs', env: 'FOUNDEROS_RUNNER_MAX_JOBS' },
  metricsPort: { flag: 'metrics-port', env: 'FOUNDEROS_RUNNER_METRICS_PORT' },
  logLevel: { flag: 'log-level', env: 'FOUNDEROS_RUNNER_LOG_LEVEL', fallback: 'info' },
  logFormat: { flag: 'log-format', env: 'FOUNDEROS_RUNNER_LOG_FORMAT', fallback: 'text' },
} satisfies Record<Exclude<keyof RunnerConfig, 'agentBins' | 'allowProcessJobs'>, Setting>;

/** `--claude-bin` / FOUNDEROS_CLAUDE_BIN, `--codex-bin` / FOUNDEROS_CODEX_BIN, … one per agent CLI. */
const AGENT_BIN_SETTINGS: Record<string, Setting> = Object.fromEntries(
  agentClis.map((adapter) => [adapter.name, { flag: `${adapter.name}-bin`, env: `FOUNDEROS_${adapter.name.toUpperCase()}_BIN`, fallback: adapter.defaultBin }]),
);
const ALLOW_PROCESS_JOBS: Setting = { flag: 'allow-process-jobs', env: 'FOUNDEROS_RUNNER_ALLOW_PROCESS_JOBS' };
const ONCE = 'once';
export const MAX_CONCURRENCY = 16;

export const MAX_TIMEOUT_SEC = 3600;
const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/**
 * Parses argv with minimist and reports every flag it does not know, given twice, or given without a
 * value. `--key=value` and `--key value` both work; numbers stay strings until validated.
 */
export function parseFlags(argv: readonly string[], valueFlags: readonly string[], booleanFlags: readonly string[] = []) {
  const rejected: string[] = [];
  const parsed = minimist([...argv], {
    string: [...valueFlags, '_'],
    boolean: [...booleanFlags],
    unknown: (arg) => {
      if (arg.startsWith('-')) rejected.push(arg.split('=')[0]!);
      return arg.startsWith('-') ? false : true;
    },
  });
  const values: Record<string, string> = {};
  for (const flag of valueFlags) {
    const value: unknown = parsed[flag];
    if (value === undefined) continue;
    if (Array.isArray(value) || value === '') rejected.push(`--${flag}`);
    else values[flag] = String(value);
  }
  if (rejected.length) {
    throw new ConfigError([
      `unknown or malformed flag(s): ${[...new Set(rejected)].join(' ')} ` +
        `(give each flag once, with a value: --token=fos_… or --token fos_…; see --help)`,
    ]);
  }
  const booleans = Object.fromEntries(booleanFlags.map((flag) => [flag, parsed[flag] === true]));
  return { values, booleans, positionals: parsed._ as string[] };
}

export const START_FLAGS = [...Object.values(SETTINGS), ...Object.values(AGENT_BIN_SETTINGS)].map((setting) => setting.flag);
export const START_BOOLEAN_FLAGS = [ALLOW_PROCESS_JOBS.flag, ONCE];

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
  if (!serverUrl) problems.push(`config error: ${SETTINGS.serverUrl.env} is required (pass --server-url=https://… or set ${SETTINGS.serverUrl.env})`);
  else {
    const problem = serverUrlProblem(serverUrl);
    if (problem) problems.push(`config error: server URL ${JSON.stringify(serverUrl)} ${problem}`);
  }

  /** A whole number from `min` to `max`, or undefined when the setting is absent. */
  const wholeNumber = (setting: Setting, what: string, min: number, max: number): number | undefined => {
    const text = read(setting);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (/^\d+$/.test(text) && value >= min && value <= max) return value;
    problems.push(`config error: ${what} ${JSON.stringify(text)} must be a whole number from ${min} to ${max} (--${setting.flag} or ${setting.env})`);
    return undefined;
  };
  const timeoutSec = wholeNumber(SETTINGS.timeoutSec, 'timeout in seconds', 1, MAX_TIMEOUT_SEC)!;
  const concurrency = wholeNumber(SETTINGS.concurrency, 'concurrency', 1, MAX_CONCURRENCY)!;
  const metricsPort = wholeNumber(SETTINGS.metricsPort, 'metrics port', 1, 65_535);
  const once = booleans[ONCE] === true || file.booleans[ONCE] === true;
  const maxJobs = wholeNumber(SETTINGS.maxJobs, 'max jobs', 1, Number.MAX_SAFE_INTEGER) ?? (once ? 1 : undefined);
  if (once && read(SETTINGS.maxJobs) !== undefined) problems.push('config error: --once and --max-jobs both say when to stop; give one of them');

  const logLevel = read(SETTINGS.logLevel)!;
  if (!isOneOf(LOG_LEVELS, logLevel)) problems.push(`config error: log level ${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(' | ')}`);
  const logFormat = read(SETTINGS.logFormat)!;
  if (!isOneOf(LOG_FORMATS, logFormat)) problems.push(`config error: log format ${JSON.stringify(logFormat)} must be one of ${LOG_FORMATS.join(' | ')}`);

  if (problems.length) throw new ConfigError(problems);
  return {
    token: token!,
    ...(tokenFile !== undefined && { tokenFile }),
    serverUrl: serverUrl!.replace(/\/+$/, ''),
    agentBins: Object.fromEntries(Object.entries(AGENT_BIN_SETTINGS).map(([name, setting]) => [name, read(setting)!])),
    allowProcessJobs:
      booleans[ALLOW_PROCESS_JOBS.flag] === true || /^(1|true|yes)$/i.test(env[ALLOW_PROCESS_JOBS.env!] ?? '') || file.booleans[ALLOW_PROCESS_JOBS.flag] === true,
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
      problem: `${SETTINGS.token.env} is required (set ${SETTINGS.token.env}, or pass --token-file=PATH of a file only you can read; issue a token from the dashboard → Settings → Runner Tokens)`,
    };
  if (direct.value !== undefined && named.value !== undefined && SOURCE_RANK[direct.source] === SOURCE_RANK[named.source])
    return { problem: `both a token and a token file are given (${SOURCE_NAMES[direct.source]}); give only one of them` };
  if (named.value !== undefined && (direct.value === undefined || SOURCE_RANK[named.source] > SOURCE_RANK[direct.source])) {
    const tokenFile = resolve(named.value);
    const read = readTokenFile(tokenFile, owner);
    return 'token' in read ? { token: read.token, tokenFile } : { problem: read.problem };
  }
  const token = direct.value!;
  if (!TOKEN_PATTERN.test(token)) return { problem: `token ${preview(token)} (${token.length} characters) must match fos_<32 alphanumeric>; copy it again or re-issue a fresh token from the dashboard` };
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
    `the token (${preview(flags[SETTINGS.token.flag]!)}) was given as --token on the command line, where every user of this machine can read it (ps, /proc/<pid>/cmdline); ` +
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

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function isOneOf<T extends string>(choices: readonly T[], value: string): value is T {
  return (choices as readonly string[]).includes(value);
}

// ---- Config file, doctor and service support (src/runner/config-file.ts, doctor.ts, service.ts) ----

/** Values from a config file, keyed by flag name: below flags and environment, above the defaults. */
export interface FileSettings {
  values: Readonly<Record<string, string>>;
  booleans: Readonly<Record<string, boolean>>;
}
export const NO_FILE_SETTINGS: FileSettings = { values: {}, booleans: {} };

/** Where a setting's value came from: the doctor holds a CLI the user chose to a higher standard than a default. */
export type SettingSource = 'flag' | 'env' | 'file' | 'default';

/** The one place that applies the precedence flags > env > file > defaults. */
function settingValue(setting: Setting, flags: Record<string, string>, env: NodeJS.ProcessEnv, file: FileSettings): { value?: string; source: SettingSource } {
  if (flags[setting.flag] !== undefined) return { value: flags[setting.flag], source: 'flag' };
  const fromEnv = setting.env ? env[setting.env] : undefined;
  if (fromEnv) return { value: fromEnv, source: 'env' };
  if (file.values[setting.flag] !== undefined) return { value: file.values[setting.flag], source: 'file' };
  return { value: setting.fallback, source: 'default' };
}

/** One setting by its flag name (`spool-dir`, …) with its source, without validating anything else. */
export function readSetting(flag: string, flags: Record<string, string>, env: NodeJS.ProcessEnv, file: FileSettings = NO_FILE_SETTINGS): { value?: string; source: SettingSource } {
  const setting = [...Object.values(SETTINGS), ...Object.values(AGENT_BIN_SETTINGS)].find((candidate) => candidate.flag === flag);
  if (!setting) throw new Error(`no setting --${flag}`);
  return settingValue(setting, flags, env, file);
}

/** Each agent CLI's binary and where it was chosen; unlike `resolveRunnerConfig`, this needs no valid token. */
export function resolveAgentBins(flags: Record<string, string>, env: NodeJS.ProcessEnv, file: FileSettings = NO_FILE_SETTINGS): Record<string, { bin: string; source: SettingSource }> {
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
  if (config.allowProcessJobs) variables[ALLOW_PROCESS_JOBS.env!] = '1';
  return variables;
}
