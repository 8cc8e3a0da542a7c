/** The settings of `start` resolved into a RunnerConfig: every source, every check, every problem reported at once. */
import { parseFlagRecords, type FlagDeclaration } from '../args.js';
import { ConfigError } from '../command.js';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { defaultSpoolDir } from '../../streams/spool.js';
import { defaultWorkDir } from '../../streams/workspace.js';
import { LOG_FORMATS, LOG_LEVELS } from '../../runner/logger.js';
import {
  AGENT_BIN_SETTINGS,
  countProblem,
  RUNNER_SETTINGS,
  SANDBOX_MODES,
  START_COMMAND,
  START_FLAGS,
  type RunnerConfig,
  type DefaultedSetting,
  type Setting,
} from './declarations.js';
import { NO_FILE_SETTINGS, settingValue, type FileSettings, type SettingSource } from './precedence.js';
import { serverUrlProblem } from './server-url.js';
import { resolveToken } from './token.js';

/** The flags of `start` (and `extra`), as the values and switches that `resolveRunnerConfig` takes. */
export function parseStartFlags(
  argv: readonly string[],
  extra: readonly FlagDeclaration[] = [],
  helpCommand = START_COMMAND,
): ReturnType<typeof parseFlagRecords> {
  return parseFlagRecords(argv, [...START_FLAGS, ...extra], helpCommand);
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
  const readDefaulted = (setting: DefaultedSetting): string => settingValue(setting, flags, env, file).value;
  const settings = RUNNER_SETTINGS;

  const { token, tokenFile, problem: tokenProblem } = resolveToken(flags, env, file);
  if (tokenProblem) problems.push(`config error: ${tokenProblem}`);

  const serverUrl = read(settings.serverUrl);
  if (!serverUrl)
    problems.push(`config error: ${settings.serverUrl.env} is required (pass --server-url=https://… or set ${settings.serverUrl.env})`);
  else {
    const problem = serverUrlProblem(serverUrl);
    if (problem) problems.push(`config error: server URL ${JSON.stringify(serverUrl)} ${problem}`);
  }

  /** A count within its declared range, or undefined when the setting is absent. */
  const count = (setting: Setting & Required<Pick<Setting, 'count'>>): number | undefined => {
    const text = read(setting);
    if (text === undefined) return undefined;
    const problem = countProblem(setting.count, text);
    if (problem === undefined) return Number(text);
    problems.push(`config error: ${setting.count.what} ${JSON.stringify(text)} ${problem} (--${setting.flag} or ${setting.env})`);
    return undefined;
  };
  const timeoutSec = count(settings.timeoutSec);
  const concurrency = count(settings.concurrency);
  const metricsPort = count(settings.metricsPort);
  const once = booleans[settings.once.flag] === true || file.booleans[settings.once.flag] === true;
  const maxJobs = count(settings.maxJobs) ?? (once ? 1 : undefined);
  if (once && read(settings.maxJobs) !== undefined)
    problems.push('config error: --once and --max-jobs both say when to stop; give one of them');

  const logLevel = readDefaulted(settings.logLevel);
  if (!isOneOf(LOG_LEVELS, logLevel))
    problems.push(`config error: log level ${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(' | ')}`);
  const logFormat = readDefaulted(settings.logFormat);
  if (!isOneOf(LOG_FORMATS, logFormat))
    problems.push(`config error: log format ${JSON.stringify(logFormat)} must be one of ${LOG_FORMATS.join(' | ')}`);

  const sandbox = readDefaulted(settings.sandbox);
  if (!isOneOf(SANDBOX_MODES, sandbox))
    problems.push(
      `config error: sandbox ${JSON.stringify(sandbox)} must be one of ${SANDBOX_MODES.join(' | ')} (--sandbox or ${settings.sandbox.env})`,
    );
  const home = env.HOME || homedir();
  const paths = (setting: Setting) => pathList(read(setting)).map((path) => absolutePath(path, home));

  // With no problem, every value below is present and valid (the counts have fallbacks); the repeated tests let the
  // compiler see it.
  const valid =
    token !== undefined &&
    serverUrl !== undefined &&
    timeoutSec !== undefined &&
    concurrency !== undefined &&
    isOneOf(LOG_LEVELS, logLevel) &&
    isOneOf(LOG_FORMATS, logFormat) &&
    isOneOf(SANDBOX_MODES, sandbox);
  if (problems.length || !valid) throw new ConfigError(problems);
  return {
    token,
    ...(tokenFile !== undefined && { tokenFile }),
    serverUrl: serverUrl.replace(/\/+$/, ''),
    agentBins: Object.fromEntries(Object.entries(AGENT_BIN_SETTINGS).map(([name, setting]) => [name, readDefaulted(setting)])),
    allowProcessJobs:
      booleans[settings.allowProcessJobs.flag] === true ||
      /^(1|true|yes)$/i.test(env[settings.allowProcessJobs.env] ?? '') ||
      file.booleans[settings.allowProcessJobs.flag] === true,
    timeoutSec,
    spoolDir: read(settings.spoolDir) ?? defaultSpoolDir(env),
    concurrency,
    maxJobs,
    metricsPort,
    logLevel,
    logFormat,
    sandbox,
    workDir: absolutePath(read(settings.workDir) ?? defaultWorkDir(env), home),
    allowDirs: paths(settings.allowDirs),
    expose: paths(settings.expose),
  };
}

/** The entries of a list setting's value (see Setting): separated by ':' (';' on Windows), empty ones dropped. */
export function pathList(value: string | undefined): string[] {
  return (value ?? '').split(delimiter).filter(Boolean);
}

/** A path from a setting, absolute: `~/…` is under the home directory, a relative path under the current one. */
export function absolutePath(path: string, home: string): string {
  return path === '~' || path.startsWith('~/') ? join(home, path.slice(1)) : resolve(path);
}

function isOneOf<T extends string>(choices: readonly T[], value: string): value is T {
  return (choices as readonly string[]).includes(value);
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
      return [name, { bin: value, source }];
    }),
  );
}
