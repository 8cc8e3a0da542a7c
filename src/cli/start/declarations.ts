/**
 * The settings of `start`, each declared once: its flag (also its key in the config file), its environment
 * variable, how its value is checked, its default and its usage text. Parsing, the config file, `--help` and the
 * service files are all derived from these declarations.
 */
import { agentClis } from '../../agents/index.js';
import type { FlagDeclaration } from '../args.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../../runner/logger.js';
import { MAX_TIMEOUT_SEC } from '../../runner/stops.js';

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
  /** Whether agents run in the bubblewrap sandbox: `auto` where it works here, `on` or refuse to start, `off`. */
  sandbox: SandboxMode;
  /** The root of the agents' workspaces (one folder per agent). */
  workDir: string;
  /** Directories a job may be granted as extra directories although the policy refuses them (absolute). */
  allowDirs: string[];
  /** Places the sandbox hides that agents may read all the same (absolute). */
  expose: string[];
  /** The config file the settings were read from, if any: the sandbox hides it, as it may hold the token. */
  configFile?: string;
}

export const SANDBOX_MODES = ['auto', 'on', 'off'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** A whole number within bounds; the config file then takes a JSON number too. */
export interface Count {
  /** What it counts, for messages. */
  what: string;
  range: readonly [number, number];
}

/**
 * A setting of `start`: a flag that takes one value, or a list (repeatable: `--allow-dir=A --allow-dir=B`; separated by
 * ':', ';' on Windows, in its variable; a JSON array of strings, or one string, in the config file), or is a switch;
 * a value may be a count.
 */
export interface Setting extends FlagDeclaration {
  kind: 'value' | 'boolean' | 'list';
  count?: Count;
}

/** A setting with a default: it always has a value. */
export type DefaultedSetting = Setting & { fallback: string };

export const MAX_CONCURRENCY = 16;

/** The settings of `start` by the field of RunnerConfig they give (and `once`, which gives `maxJobs`). */
export const RUNNER_SETTINGS = {
  token: {
    flag: 'token',
    env: 'FOUNDEROS_RUNNER_TOKEN',
    kind: 'value',
    placeholder: 'fos_…',
    usage: 'runner token (required, or --token-file); prefer the variable: a flag is visible to every local user in ps',
  },
  tokenFile: {
    flag: 'token-file',
    env: 'FOUNDEROS_RUNNER_TOKEN_FILE',
    kind: 'value',
    placeholder: 'PATH',
    usage: 'read the token from a file that is yours alone (mode 0600)',
  },
  serverUrl: {
    flag: 'server-url',
    env: 'FOUNDEROS_RUNNER_URL',
    kind: 'value',
    placeholder: 'https://…',
    usage: 'server base URL (required; http only to this machine)',
  },
  timeoutSec: {
    flag: 'timeout-sec',
    env: 'FOUNDEROS_RUNNER_TIMEOUT_SEC',
    kind: 'value',
    count: { what: 'timeout in seconds', range: [1, MAX_TIMEOUT_SEC] },
    fallback: '600',
    placeholder: 'N',
    usage: `ceiling on a job's run time, 1..${MAX_TIMEOUT_SEC}`,
  },
  concurrency: {
    flag: 'concurrency',
    env: 'FOUNDEROS_RUNNER_CONCURRENCY',
    kind: 'value',
    count: { what: 'concurrency', range: [1, MAX_CONCURRENCY] },
    fallback: '1',
    placeholder: 'N',
    usage: `how many jobs run at once, 1..${MAX_CONCURRENCY}`,
  },
  maxJobs: {
    flag: 'max-jobs',
    env: 'FOUNDEROS_RUNNER_MAX_JOBS',
    kind: 'value',
    count: { what: 'max jobs', range: [1, Number.MAX_SAFE_INTEGER] },
    placeholder: 'N',
    usage: 'exit after this many jobs (default: run until stopped)',
  },
  spoolDir: {
    flag: 'spool-dir',
    env: 'FOUNDEROS_RUNNER_SPOOL_DIR',
    kind: 'value',
    defaultText: '$XDG_STATE_HOME/founderos-runner/spool, else ~/.local/state/…',
    placeholder: 'PATH',
    usage: "where each job's events wait until the server has them",
  },
  metricsPort: {
    flag: 'metrics-port',
    env: 'FOUNDEROS_RUNNER_METRICS_PORT',
    kind: 'value',
    count: { what: 'metrics port', range: [1, 65_535] },
    placeholder: 'PORT',
    usage: 'serve /metrics and /healthz on 127.0.0.1:PORT (default: none)',
  },
  logLevel: {
    flag: 'log-level',
    env: 'FOUNDEROS_RUNNER_LOG_LEVEL',
    kind: 'value',
    fallback: 'info',
    placeholder: 'LEVEL',
    usage: LOG_LEVELS.join(' | '),
  },
  logFormat: {
    flag: 'log-format',
    env: 'FOUNDEROS_RUNNER_LOG_FORMAT',
    kind: 'value',
    fallback: 'text',
    placeholder: 'FORMAT',
    usage: LOG_FORMATS.join(' | '),
  },
  sandbox: {
    flag: 'sandbox',
    env: 'FOUNDEROS_RUNNER_SANDBOX',
    kind: 'value',
    fallback: 'auto',
    placeholder: 'MODE',
    usage: 'run each agent in a bubblewrap sandbox (Linux): auto (where it works here) | on (or refuse to start) | off',
  },
  workDir: {
    flag: 'work-dir',
    env: 'FOUNDEROS_RUNNER_WORK_DIR',
    kind: 'value',
    defaultText: '$XDG_STATE_HOME/founderos-runner/workspaces, else ~/.local/state/…',
    placeholder: 'PATH',
    usage: "where each agent's workspace is made, one folder per agent, kept across its jobs",
  },
  allowDirs: {
    flag: 'allow-dir',
    env: 'FOUNDEROS_RUNNER_ALLOW_DIRS',
    kind: 'list',
    placeholder: 'DIR',
    usage: 'a directory jobs may be granted (addDirs) although the policy refuses it (repeatable)',
  },
  expose: {
    flag: 'expose',
    env: 'FOUNDEROS_RUNNER_EXPOSE',
    kind: 'list',
    placeholder: 'PATH',
    usage: 'a credential store the sandbox hides that agents may read all the same, e.g. ~/.ssh to git push (repeatable)',
  },
  allowProcessJobs: {
    flag: 'allow-process-jobs',
    env: 'FOUNDEROS_RUNNER_ALLOW_PROCESS_JOBS',
    kind: 'boolean',
    usage: 'run jobs of the process adapter, which name the program to run (variable: 1, true or yes)',
  },
  once: { flag: 'once', kind: 'boolean', usage: 'run one job, then exit (like --max-jobs=1)' },
} satisfies Record<Exclude<keyof RunnerConfig, 'agentBins' | 'configFile'> | 'once', Setting>;

/** `--claude-bin` / FOUNDEROS_CLAUDE_BIN, `--codex-bin` / FOUNDEROS_CODEX_BIN, … one per agent CLI, by adapter name. */
export const AGENT_BIN_SETTINGS: Readonly<Record<string, DefaultedSetting>> = Object.fromEntries(
  agentClis.map((adapter) => [
    adapter.name,
    {
      flag: `${adapter.name}-bin`,
      env: `FOUNDEROS_${adapter.name.toUpperCase()}_BIN`,
      kind: 'value',
      fallback: adapter.defaultBin,
      placeholder: 'PATH',
      usage: `${adapter.name} binary`,
    } satisfies DefaultedSetting,
  ]),
);

/** Every setting of `start`, in the order `--help` shows them. */
export const START_SETTINGS: readonly Setting[] = [...Object.values(RUNNER_SETTINGS), ...Object.values(AGENT_BIN_SETTINGS)];

/** `--config <path>`: the one flag of `start` that is not a setting, so it is never a key of the file itself. */
export const CONFIG_FLAG = 'config';
const CONFIG_DECLARATION: FlagDeclaration = {
  flag: CONFIG_FLAG,
  kind: 'value',
  placeholder: 'PATH',
  defaultText: './founderos-runner.json, else $XDG_CONFIG_HOME/founderos-runner/config.json',
  usage: 'settings as JSON, keys = flag names; flags > env > file > defaults',
};

/** The flags of `start`, which `doctor` and `service install` take too. */
export const START_FLAGS: readonly FlagDeclaration[] = [...START_SETTINGS, CONFIG_DECLARATION];

export const START_COMMAND = 'founderos-runner start';

export function settingFor(flag: string): Setting | undefined {
  return START_SETTINGS.find((setting) => setting.flag === flag);
}

/** A count within its declared range, or the problem with it (the bounds; the caller names the setting). */
export function countProblem({ range: [min, max] }: Count, text: string): string | undefined {
  const value = Number(text);
  if (/^\d+$/.test(text) && value >= min && value <= max) return undefined;
  return `must be a whole number from ${min} to ${max}`;
}
