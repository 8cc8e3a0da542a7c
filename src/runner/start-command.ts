import { asyncScheduler, lastValueFrom, defaultIfEmpty } from 'rxjs';
import { createRunnerApi, TokenRejectedError } from '../streams/http.js';
import { readFirstLine, spawnProcess } from '../streams/process.js';
import { processSignals } from '../streams/signals.js';
import { agentEnvironment } from './agent-env.js';
import { ConfigError, parseFlags, resolveRunnerConfig, START_BOOLEAN_FLAGS, START_FLAGS, type RunnerConfig } from './config.js';
import { ForcedExitError, runDaemon } from './daemon.js';
import { createLogger, preview, type Logger } from './logger.js';
import { errorText } from './agent-run.js';
import { RUNNER_VERSION, USER_AGENT, versionCache } from './version.js';

/** Exit codes, documented in the README so service managers can act on them. */
export const EXIT = {
  ok: 0,
  failure: 1,
  config: 2,
  /** The server refused the token (401): restarting will not help until the token is replaced. */
  tokenRejected: 3,
  forced: 130,
} as const;

/** Tunables that are not user flags; tests and the demo shorten them. */
export interface StartTunables {
  killGraceMs?: number;
  heartbeatMs?: number;
  pollMinIntervalMs?: number;
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Stop after this many jobs (the demo runs one). */
  maxJobs?: number;
}

/** `founderos-runner start`: parse flags and env, then run the daemon until a signal. */
export async function startCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config: RunnerConfig;
  try {
    const { values, booleans } = parseFlags(argv, START_FLAGS, START_BOOLEAN_FLAGS);
    config = resolveRunnerConfig(values, env, booleans);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.config;
    }
    throw error;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat, secrets: [config.token] });
  return runRunner(config, log, env, tunablesFromEnv(env));
}

/** Runs the daemon with a validated config; resolves with the process exit code. */
export async function runRunner(config: RunnerConfig, log: Logger, env: NodeJS.ProcessEnv, tunables: StartTunables = {}): Promise<number> {
  log.info(`founderos-runner v${RUNNER_VERSION} starting`, { serverUrl: config.serverUrl, claudeBin: config.agentBins.claude, token: preview(config.token) });
  const agentBaseEnv = { ...env };
  const daemon$ = runDaemon({
    api: createRunnerApi({ serverUrl: config.serverUrl, token: config.token, userAgent: USER_AGENT }),
    log,
    spawn: spawnProcess,
    binFor: (adapter) => config.agentBins[adapter.name] ?? adapter.defaultBin,
    allowProcessJobs: config.allowProcessJobs,
    cliVersion: versionCache((bin, args) => readFirstLine(bin, args, agentEnvironment(agentBaseEnv, config.token, ''))),
    agentEnv: (jobId) => agentEnvironment(agentBaseEnv, config.token, jobId),
    timeoutCapSec: config.timeoutSec,
    killGraceMs: tunables.killGraceMs ?? 10_000,
    heartbeatMs: tunables.heartbeatMs ?? 10_000,
    heartbeatSupport: { supported: true },
    retry: { initialDelayMs: tunables.retryInitialDelayMs ?? 1_000, maxDelayMs: tunables.retryMaxDelayMs ?? 30_000 },
    scheduler: asyncScheduler,
    signals$: processSignals(),
    pollMinIntervalMs: tunables.pollMinIntervalMs ?? 1_000,
    maxJobs: tunables.maxJobs,
  });
  try {
    await lastValueFrom(daemon$.pipe(defaultIfEmpty(null)));
    log.info('runner stopped');
    return EXIT.ok;
  } catch (error) {
    if (error instanceof TokenRejectedError) {
      log.error(
        error.expired
          ? `token ${preview(config.token)} has expired${error.expiredAt ? ` (at ${error.expiredAt})` : ''}: rotate it in the dashboard → Settings → Runner Tokens and restart with the new one`
          : `token ${preview(config.token)} was rejected (401 ${error.code ?? ''}): it is revoked, mistyped or for another server; issue a new one in the dashboard → Settings → Runner Tokens`,
        { requestId: error.requestId },
      );
      return EXIT.tokenRejected;
    }
    if (error instanceof ForcedExitError) {
      log.warn(error.message);
      return EXIT.forced;
    }
    log.error(`runner failed: ${errorText(error)}`);
    return EXIT.failure;
  }
}

/** Internal timings can be shortened through the environment, for tests and demos only. */
function tunablesFromEnv(env: NodeJS.ProcessEnv): StartTunables {
  const read = (name: string) => (env[name] && /^\d+$/.test(env[name]!) ? Number(env[name]) : undefined);
  return {
    killGraceMs: read('FOUNDEROS_RUNNER_KILL_GRACE_MS'),
    heartbeatMs: read('FOUNDEROS_RUNNER_HEARTBEAT_MS'),
    pollMinIntervalMs: read('FOUNDEROS_RUNNER_POLL_MIN_INTERVAL_MS'),
    retryInitialDelayMs: read('FOUNDEROS_RUNNER_RETRY_INITIAL_MS'),
    retryMaxDelayMs: read('FOUNDEROS_RUNNER_RETRY_MAX_MS'),
  };
}
