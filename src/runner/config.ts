import minimist from 'minimist';
import { agentClis } from '../agents/index.js';
import { TOKEN_PATTERN } from '../protocol/types.js';
import { LOG_FORMATS, LOG_LEVELS, preview, type LogFormat, type LogLevel } from './logger.js';

export interface RunnerConfig {
  token: string;
  serverUrl: string;
  /** The binary of each agent CLI, by adapter name (`claude`, `codex`, …). */
  agentBins: Record<string, string>;
  /** Whether jobs of the `process` adapter, which name the program to run, may run here. */
  allowProcessJobs: boolean;
  /** The ceiling on any job's run time; a job may ask for less. */
  timeoutSec: number;
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
  serverUrl: { flag: 'server-url', env: 'FOUNDEROS_RUNNER_URL' },
  timeoutSec: { flag: 'timeout-sec', env: 'FOUNDEROS_RUNNER_TIMEOUT_SEC', fallback: '600' },
  logLevel: { flag: 'log-level', env: 'FOUNDEROS_RUNNER_LOG_LEVEL', fallback: 'info' },
  logFormat: { flag: 'log-format', env: 'FOUNDEROS_RUNNER_LOG_FORMAT', fallback: 'text' },
} satisfies Record<Exclude<keyof RunnerConfig, 'agentBins' | 'allowProcessJobs'>, Setting>;

/** `--claude-bin` / FOUNDEROS_CLAUDE_BIN, `--codex-bin` / FOUNDEROS_CODEX_BIN, … one per agent CLI. */
const AGENT_BIN_SETTINGS: Record<string, Setting> = Object.fromEntries(
  agentClis.map((adapter) => [adapter.name, { flag: `${adapter.name}-bin`, env: `FOUNDEROS_${adapter.name.toUpperCase()}_BIN`, fallback: adapter.defaultBin }]),
);
const ALLOW_PROCESS_JOBS: Setting = { flag: 'allow-process-jobs', env: 'FOUNDEROS_RUNNER_ALLOW_PROCESS_JOBS' };

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
export const START_BOOLEAN_FLAGS = [ALLOW_PROCESS_JOBS.flag];

/** Flags override environment variables, which override defaults; every problem is reported at once. */
export function resolveRunnerConfig(flags: Record<string, string>, env: NodeJS.ProcessEnv, booleans: Record<string, boolean> = {}): RunnerConfig {
  const problems: string[] = [];
  const read = (setting: Setting): string | undefined => flags[setting.flag] ?? (setting.env ? env[setting.env] || undefined : undefined) ?? setting.fallback;

  const token = read(SETTINGS.token);
  if (!token) problems.push(`config error: ${SETTINGS.token.env} is required (pass --token=fos_… or set ${SETTINGS.token.env}; issue a token from the dashboard → Settings → Runner Tokens)`);
  else if (!TOKEN_PATTERN.test(token))
    problems.push(`config error: token ${preview(token)} (${token.length} characters) must match fos_<32 alphanumeric>; copy it again or re-issue a fresh token from the dashboard`);

  const serverUrl = read(SETTINGS.serverUrl);
  if (!serverUrl) problems.push(`config error: ${SETTINGS.serverUrl.env} is required (pass --server-url=https://… or set ${SETTINGS.serverUrl.env})`);
  else {
    const problem = serverUrlProblem(serverUrl);
    if (problem) problems.push(`config error: server URL ${JSON.stringify(serverUrl)} ${problem}`);
  }

  const timeoutText = read(SETTINGS.timeoutSec)!;
  const timeoutSec = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || timeoutSec < 1 || timeoutSec > MAX_TIMEOUT_SEC)
    problems.push(`config error: timeout ${JSON.stringify(timeoutText)} must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SEC} (--timeout-sec or ${SETTINGS.timeoutSec.env})`);

  const logLevel = read(SETTINGS.logLevel)!;
  if (!isOneOf(LOG_LEVELS, logLevel)) problems.push(`config error: log level ${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(' | ')}`);
  const logFormat = read(SETTINGS.logFormat)!;
  if (!isOneOf(LOG_FORMATS, logFormat)) problems.push(`config error: log format ${JSON.stringify(logFormat)} must be one of ${LOG_FORMATS.join(' | ')}`);

  if (problems.length) throw new ConfigError(problems);
  return {
    token: token!,
    serverUrl: serverUrl!.replace(/\/+$/, ''),
    agentBins: Object.fromEntries(Object.entries(AGENT_BIN_SETTINGS).map(([name, setting]) => [name, read(setting)!])),
    allowProcessJobs: booleans[ALLOW_PROCESS_JOBS.flag] === true || /^(1|true|yes)$/i.test(env[ALLOW_PROCESS_JOBS.env!] ?? ''),
    timeoutSec,
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat,
  };
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
