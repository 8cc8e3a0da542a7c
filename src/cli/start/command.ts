import { asyncScheduler, lastValueFrom, defaultIfEmpty } from 'rxjs';
import { TokenRejectedError } from '../../streams/http/errors.js';
import { createRunnerApi } from '../../streams/http/runner-api.js';
import { ServerHealth } from '../../streams/http/server-health.js';
import { isRunnerAlive } from '../../streams/orphans.js';
import { serveMetrics } from '../../streams/metrics-server.js';
import { resolve } from 'node:path';
import { PrivateDirError } from '../../streams/private-dir.js';
import { probeSandbox } from '../../streams/sandbox.js';
import { pauseFilePath, readPauses, writePauses } from '../../streams/pause-file.js';
import { openJobSpool, prepareSpoolDir } from '../../streams/spool.js';
import { readFirstLine, spawnProcess } from '../../streams/process.js';
import { processSignals } from '../../streams/signals.js';
import { agentEnvironment } from '../../runner/agent-env.js';
import { processIo, runCommand, type CliIo } from '../command.js';
import { loadConfigFile, processConfigFileLocation } from './config-file.js';
import { decideSandbox, prepareContainment } from './containment.js';
import { startHelp } from './help.js';
import { CONFIG_FLAG, START_COMMAND, type RunnerConfig } from './declarations.js';
import { parseStartFlags, resolveRunnerConfig } from './runner-config.js';
import { commandLineTokenWarnings } from './token.js';
import { ForcedExitError, runDaemon } from '../../runner/daemon.js';
import { createLogger, preview, type Logger } from '../../runner/logger.js';
import { RunnerMetrics } from '../../runner/metrics.js';
import { recoverLeftovers } from '../../runner/recover.js';
import { errorText } from '../../runner/error-text.js';
import { RUNNER_VERSION, USER_AGENT, versionCache } from '../../runner/version.js';
import { EXIT } from '../exit-codes.js';

/** Tunables that are not user flags; tests and the demo shorten them. */
export interface StartTunables {
  killGraceMs?: number;
  heartbeatMs?: number;
  pollMinIntervalMs?: number;
  longPollWaitSec?: number;
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
}

/** `founderos-runner start`: parse flags and env, then run the daemon until a signal. */
export function startCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, io: CliIo = processIo(env)): Promise<number> {
  return runCommand(START_COMMAND, io, async () => {
    const { values, booleans, help } = parseStartFlags(argv);
    if (help) {
      io.stdout(startHelp());
      return EXIT.ok;
    }
    const configFile = loadConfigFile(values[CONFIG_FLAG], processConfigFileLocation(env));
    const config = { ...resolveRunnerConfig(values, env, booleans, configFile), configFile: configFile.path };
    const log = createLogger({ level: config.logLevel, format: config.logFormat, secrets: [config.token] });
    for (const warning of [...configFile.warnings, ...commandLineTokenWarnings(values)]) log.warn(warning);
    return runRunner(config, log, env, tunablesFromEnv(env));
  });
}

/** Runs the daemon with a validated config; resolves with the process exit code. */
export async function runRunner(config: RunnerConfig, log: Logger, env: NodeJS.ProcessEnv, tunables: StartTunables = {}): Promise<number> {
  log.info(`founderos-runner v${RUNNER_VERSION} starting`, {
    serverUrl: config.serverUrl,
    claudeBin: config.agentBins.claude,
    token: preview(config.token),
  });
  try {
    prepareSpoolDir(config.spoolDir);
  } catch (error) {
    const fix = error instanceof PrivateDirError ? error.fix : 'make it writable by this user, or pass --spool-dir=PATH';
    log.error(`cannot use the spool directory ${config.spoolDir} (${errorText(error)}): ${fix}`);
    return EXIT.config;
  }
  const sandbox = decideSandbox(config.sandbox, () => probeSandbox(env));
  log[sandbox.level](sandbox.message);
  const contain = prepareContainment(config, env, sandbox);
  const agentBaseEnv = { ...env };
  const pauseFile = pauseFilePath(config.spoolDir);
  const metrics = new RunnerMetrics();
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  try {
    metricsServer =
      config.metricsPort === undefined
        ? undefined
        : await serveMetrics(config.metricsPort, { metrics: () => metrics.render(), health: () => metrics.health() });
  } catch (error) {
    log.error(`cannot serve metrics on 127.0.0.1:${config.metricsPort} (${errorText(error)}); choose a free --metrics-port`);
    return EXIT.config;
  }
  if (metricsServer) log.info('serving metrics', { url: `${metricsServer.url}/metrics`, health: `${metricsServer.url}/healthz` });
  const serverHealth = new ServerHealth({
    onPathDown: () => log.warn('the server answers nothing, not even a probe: the network path is down; output waits in the spool'),
    onPathBack: (downMs) => log.info('the server answers again; sending what waited', { downSec: Math.round(downMs / 100) / 10 }),
  });
  const delivery = {
    api: createRunnerApi({ serverUrl: config.serverUrl, token: config.token, userAgent: USER_AGENT, health: serverHealth }),
    health: serverHealth,
    log,
    metrics,
    retry: { initialDelayMs: tunables.retryInitialDelayMs ?? 1_000, maxDelayMs: tunables.retryMaxDelayMs ?? 30_000 },
    scheduler: asyncScheduler,
  };
  const daemon$ = runDaemon({
    ...delivery,
    spawn: spawnProcess,
    // A path is taken from where the runner started: the agent runs in its workspace.
    binFor: (adapter) => {
      const bin = config.agentBins[adapter.name] ?? adapter.defaultBin;
      return /[\\/]/.test(bin) ? resolve(bin) : bin;
    },
    contain,
    allowProcessJobs: config.allowProcessJobs,
    cliVersion: versionCache((bin, args) => readFirstLine(bin, args, agentEnvironment(agentBaseEnv, config.token, ''))),
    agentEnv: (jobId) => agentEnvironment(agentBaseEnv, config.token, jobId),
    timeoutCapSec: config.timeoutSec,
    killGraceMs: tunables.killGraceMs ?? 10_000,
    heartbeatMs: tunables.heartbeatMs ?? 10_000,
    openSpool: (jobId) => openJobSpool(config.spoolDir, jobId, config.serverUrl),
    recover$: recoverLeftovers({ ...delivery, spoolDir: config.spoolDir, serverUrl: config.serverUrl, isRunnerAlive }),
    signals$: processSignals(),
    pollMinIntervalMs: tunables.pollMinIntervalMs ?? 1_000,
    longPollWaitSec: tunables.longPollWaitSec,
    concurrency: config.concurrency,
    maxJobs: config.maxJobs,
    metrics,
    usagePauses: {
      // A pause a previous run left goes on: a restart (by a service manager, say) does not spend a job to learn it again.
      restored: readPauses(pauseFile),
      record: (pauses) => {
        try {
          writePauses(pauseFile, pauses);
        } catch (error) {
          log.warn(`cannot write ${pauseFile} (${errorText(error)}): doctor will not show the usage-limit pauses`);
        }
      },
    },
  });
  try {
    await lastValueFrom(daemon$.pipe(defaultIfEmpty(null)));
    log.info('runner stopped');
    return EXIT.ok;
  } catch (error) {
    if (error instanceof TokenRejectedError) {
      const tokens = 'the dashboard → Settings → Runner Tokens';
      log.error(
        error.expired
          ? `token ${preview(config.token)} has expired${error.expiredAt ? ` (at ${error.expiredAt})` : ''}: ` +
              `rotate it in ${tokens} and restart with the new one`
          : `token ${preview(config.token)} was rejected (401 ${error.code ?? ''}): ` +
              `it is revoked, mistyped or for another server; issue a new one in ${tokens}`,
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
  } finally {
    await metricsServer?.close();
  }
}

/** Internal timings can be shortened through the environment, for tests and demos only. */
function tunablesFromEnv(env: NodeJS.ProcessEnv): StartTunables {
  const read = (name: string) => {
    const value = env[name];
    return value && /^\d+$/.test(value) ? Number(value) : undefined;
  };
  return {
    killGraceMs: read('FOUNDEROS_RUNNER_KILL_GRACE_MS'),
    heartbeatMs: read('FOUNDEROS_RUNNER_HEARTBEAT_MS'),
    pollMinIntervalMs: read('FOUNDEROS_RUNNER_POLL_MIN_INTERVAL_MS'),
    longPollWaitSec: read('FOUNDEROS_RUNNER_LONG_POLL_WAIT_SEC'),
    retryInitialDelayMs: read('FOUNDEROS_RUNNER_RETRY_INITIAL_MS'),
    retryMaxDelayMs: read('FOUNDEROS_RUNNER_RETRY_MAX_MS'),
  };
}
