import { randomUUID } from 'node:crypto';
import ky from 'ky';
import { firstValueFrom } from 'rxjs';
import { agentClis, type AgentAdapter } from '../agents/index.js';
import { TokenRejectedError } from '../streams/http/errors.js';
import { createRunnerApi } from '../streams/http/runner-api.js';
import { readFirstLine } from '../streams/process.js';
import { ensurePrivateDir, PrivateDirError } from '../streams/private-dir.js';
import { probeSandbox, type SandboxProbe } from '../streams/sandbox.js';
import { defaultSpoolDir, prepareSpoolDir } from '../streams/spool.js';
import { defaultWorkDir } from '../streams/workspace.js';
import { escapeUnprintable } from '../protocol/values.js';
import { pauseFilePath, readPauses } from '../streams/pause-file.js';
import { pauseEndText } from '../runner/usage-limits.js';
import { agentEnvironment } from '../runner/agent-env.js';
import { formatFlags, type FlagDeclaration } from './args.js';
import { ConfigError, processIo, runCommand, type CliIo } from './command.js';
import { loadConfigFile, processConfigFileLocation, type ConfigFileLocation, type LoadedConfigFile } from './start/config-file.js';
import { CONFIG_FLAG, START_FLAGS } from './start/declarations.js';
import { NO_FILE_SETTINGS, readSetting, type SettingSource } from './start/precedence.js';
import { absolutePath, parseStartFlags, resolveAgentBins, resolveRunnerConfig } from './start/runner-config.js';
import { serverUrlProblem } from './start/server-url.js';
import { commandLineTokenWarnings, resolveToken } from './start/token.js';
import { causeText, errorText } from '../runner/error-text.js';
import { preview } from '../runner/logger.js';
import { EXIT } from './exit-codes.js';
import { workDirProblem } from './start/containment.js';
import { RUNNER_VERSION, USER_AGENT } from '../runner/version.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it; every failure has one. */
  fix?: string;
}
export interface DoctorReport {
  ok: boolean;
  checks: Check[];
}

export const MIN_NODE_MAJOR = 20;
/** Beyond this, job timestamps and token expiry disagree with the server's enough to confuse people. */
export const MAX_CLOCK_SKEW_MS = 60_000;

export interface DoctorDeps {
  env: NodeJS.ProcessEnv;
  location: ConfigFileLocation;
  nodeVersion: string;
  now: () => number;
  /** Asks a CLI for its version (injectable so a test need not install every agent). */
  readFirstLine: typeof readFirstLine;
  /** Every network call and version probe gets this long: a doctor must answer quickly even when things hang. */
  timeoutMs: number;
  /** Whether the sandbox works here (injectable, so that a test can play a machine without it). */
  probeSandbox: () => SandboxProbe;
}

export function processDoctorDeps(env: NodeJS.ProcessEnv = process.env): DoctorDeps {
  return {
    env,
    location: processConfigFileLocation(env),
    nodeVersion: process.versions.node,
    now: Date.now,
    readFirstLine,
    timeoutMs: 5_000,
    probeSandbox: () => probeSandbox(env),
  };
}

const DOCTOR_COMMAND = 'founderos-runner doctor';
const DOCTOR_FLAGS: readonly FlagDeclaration[] = [{ flag: 'json', kind: 'boolean', usage: 'print the report as JSON' }];

/** `founderos-runner doctor --help`, written from the declarations of its flags and those of `start`. */
export function doctorHelp(): string {
  return `Usage: ${DOCTOR_COMMAND} [--json] [start flags]

Checks this machine can run jobs with the settings "start" would use: node, agent CLIs, server, token,
spool dir, sandbox, work dir, clock. Exit code 0 when nothing failed.

${formatFlags([...DOCTOR_FLAGS, ...START_FLAGS])}
`;
}

/** `founderos-runner doctor [--json] [start flags]`: checks this machine can run jobs; exit 0 when nothing failed. */
export function doctorCommand(
  argv: readonly string[],
  deps: DoctorDeps = processDoctorDeps(),
  io: Pick<CliIo, 'stdout' | 'stderr'> = processIo(),
): Promise<number> {
  // A mistyped flag is a usage error, not a finding: the checks would run against settings the user did not mean.
  return runCommand(DOCTOR_COMMAND, io, async () => {
    const parsed = parseStartFlags(argv, DOCTOR_FLAGS, DOCTOR_COMMAND);
    if (parsed.help) {
      io.stdout(doctorHelp());
      return EXIT.ok;
    }
    const report = await runDoctor(parsed.values, parsed.booleans, deps);
    io.stdout(parsed.booleans.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.ok ? EXIT.ok : EXIT.failure;
  });
}

/** Everything the checks need, gathered the way `start` gathers it (flags > env > file > defaults). */
interface Settings {
  file?: LoadedConfigFile;
  /** The problems `start` would refuse to run with (config file or settings). */
  problems: string[];
  /** What `start` would warn about (a config file others can read, a token on the command line), with what to do. */
  warnings: string[];
  fixes: string[];
  agentBins: Record<string, { bin: string; source: SettingSource }>;
  spoolDir: string;
  /** `--sandbox`, as given (checked by the config check). */
  sandbox: string;
  workDir: string;
  /** Each only when valid: the server is probed even when, say, the token is missing. */
  serverUrl?: string;
  token?: string;
}

export async function runDoctor(flags: Record<string, string>, booleans: Record<string, boolean>, deps: DoctorDeps): Promise<DoctorReport> {
  const settings = gatherSettings(flags, booleans, deps);
  const server = settings.serverUrl === undefined ? undefined : await probeServer(settings.serverUrl, deps);
  const checks = [
    checkNode(deps.nodeVersion),
    checkConfig(settings),
    ...(await Promise.all(agentClis.map((adapter) => checkAgentCli(adapter, settings, deps)))),
    checkServer(settings, server),
    await checkToken(settings, server, deps),
    checkSpoolDir(settings.spoolDir),
    checkSandbox(settings.sandbox, deps.probeSandbox),
    checkWorkDir(settings.workDir, deps.env.HOME || deps.location.home, settings.spoolDir),
    checkUsageLimits(settings.spoolDir, deps.now()),
    checkClock(server),
  ];
  return { ok: checks.every((check) => check.status !== 'fail'), checks };
}

function gatherSettings(flags: Record<string, string>, booleans: Record<string, boolean>, deps: DoctorDeps): Settings {
  const problems: string[] = [];
  let file: LoadedConfigFile | undefined;
  try {
    file = loadConfigFile(flags[CONFIG_FLAG], deps.location);
    resolveRunnerConfig(flags, deps.env, booleans, file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const fileSettings = file ?? NO_FILE_SETTINGS;
  const value = (flag: string) => readSetting(flag, flags, deps.env, fileSettings).value;
  const serverUrl = value('server-url');
  const { token } = resolveToken(flags, deps.env, fileSettings);
  return {
    file,
    problems,
    warnings: [...(file?.warnings ?? []), ...commandLineTokenWarnings(flags)],
    fixes: [
      ...(file?.warnings.length ? ['make the config file readable only by you'] : []),
      ...(commandLineTokenWarnings(flags).length ? ['set FOUNDEROS_RUNNER_TOKEN, or pass --token-file=PATH, instead of --token'] : []),
    ],
    agentBins: resolveAgentBins(flags, deps.env, fileSettings),
    spoolDir: value('spool-dir') ?? defaultSpoolDir(deps.env),
    sandbox: value('sandbox') ?? 'auto',
    workDir: absolutePath(value('work-dir') ?? defaultWorkDir(deps.env), deps.env.HOME || deps.location.home),
    serverUrl: serverUrl !== undefined && serverUrlProblem(serverUrl) === undefined ? serverUrl.replace(/\/+$/, '') : undefined,
    token,
  };
}

function checkNode(version: string): Check {
  const major = Number(version.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? { name: 'node', status: 'ok', detail: `Node.js v${version}` }
    : {
        name: 'node',
        status: 'fail',
        detail: `Node.js v${version} is too old`,
        fix: `install Node.js ${MIN_NODE_MAJOR} or later (https://nodejs.org), then run the runner with it`,
      };
}

function checkConfig({ file, problems, warnings, fixes, token, serverUrl }: Settings): Check {
  const source = file?.path ? `config file ${file.path}` : `no config file (looked for ${file?.searched.join(', ') ?? 'none'})`;
  if (problems.length)
    return {
      name: 'config',
      status: 'fail',
      detail: problems.map((problem) => problem.replace(/^config error: /, '')).join('; '),
      fix: 'correct the settings named above (flag, environment variable or config file); see founderos-runner --help',
    };
  // biome-ignore lint/style/noNonNullAssertion: no problems means resolveRunnerConfig accepted the settings, and it refuses a missing token.
  const summary = `server ${serverUrl}, token ${preview(token!)}, ${source}`;
  if (warnings.length) return { name: 'config', status: 'warn', detail: `${summary}; ${warnings.join('; ')}`, fix: fixes.join('; ') };
  return { name: 'config', status: 'ok', detail: summary };
}

/**
 * claude is the default adapter, so a job with no adapter type needs it; any other CLI only matters for
 * jobs that ask for it, so it fails the check only when the user configured it explicitly (a flag, a
 * variable or the config file naming its binary says "I mean to run this").
 */
async function checkAgentCli(adapter: AgentAdapter, settings: Settings, deps: DoctorDeps): Promise<Check> {
  const { bin, source } = settings.agentBins[adapter.name] ?? { bin: adapter.defaultBin, source: 'default' as const };
  const required = adapter.name === 'claude' || source !== 'default';
  // The probe runs the CLI: it must not see the runner token, exactly as in a job.
  const version = await deps.readFirstLine(bin, adapter.versionArgs, agentEnvironment(deps.env, settings.token ?? '', ''), deps.timeoutMs);
  const name = `agent ${adapter.name}`;
  if (version !== undefined) return { name, status: 'ok', detail: `${bin}: ${version}` };
  const setBy = source === 'default' ? '' : ` (set by ${source})`;
  const detail = `${bin} ${adapter.versionArgs.join(' ')} did not answer (not installed, not on PATH, or failing)${setBy}`;
  if (required) return { name, status: 'fail', detail, fix: adapter.installHint };
  return { name, status: 'warn', detail: `${detail}; optional: only ${adapter.name} jobs need it`, fix: adapter.installHint };
}

type ServerProbe = { reachable: true; status: number; elapsedMs: number; date?: number; at: number } | { reachable: false; error: string };

/**
 * One unauthenticated HEAD of the base URL: any HTTP answer proves the server is there, and its `Date`
 * header gives the clock check. It carries no token, so it can never count against one.
 */
async function probeServer(serverUrl: string, deps: DoctorDeps): Promise<ServerProbe> {
  const started = deps.now();
  try {
    const response = await ky.head(`${serverUrl}/`, {
      retry: 0,
      throwHttpErrors: false,
      timeout: deps.timeoutMs,
      headers: { 'user-agent': USER_AGENT },
    });
    const finished = deps.now();
    const date = Date.parse(response.headers.get('date') ?? '');
    // The server stamped its Date somewhere during the round trip: compare with its midpoint.
    return {
      reachable: true,
      status: response.status,
      elapsedMs: finished - started,
      date: Number.isNaN(date) ? undefined : date,
      at: (started + finished) / 2,
    };
  } catch (error) {
    return { reachable: false, error: networkErrorText(error, deps.timeoutMs) };
  }
}

/**
 * The agent CLIs the runner paused after a usage limit (docs/usage-limits.md), as it wrote them to the pause file in
 * its spool folder: a warning while a pause lasts, since jobs for that CLI wait meanwhile; it ends by itself.
 */
function checkUsageLimits(spoolDir: string, now: number): Check {
  const path = pauseFilePath(spoolDir);
  const paused = Object.entries(readPauses(path)).filter(([, pause]) => Date.parse(pause.until) > now);
  if (paused.length === 0) return { name: 'usage limits', status: 'ok', detail: 'no agent CLI is paused by a usage limit' };
  return {
    name: 'usage limits',
    status: 'warn',
    detail: paused
      // The reason is what the agent CLI printed: shown escaped, never as terminal control sequences.
      .map(
        ([agent, pause]) =>
          `${agent} paused until ${pauseEndText(Date.parse(pause.until), now)}, since ${pause.since}: ${escapeUnprintable(pause.reason)}`,
      )
      .join('; '),
    fix:
      'nothing to do: the runner takes these jobs again by itself when the pause ends. To try at once (after raising ' +
      `the plan or quota), stop the runner, delete ${path} and start it again`,
  };
}

function checkServer(settings: Settings, probe: ServerProbe | undefined): Check {
  if (probe === undefined)
    return {
      name: 'server',
      status: 'warn',
      detail: 'not checked: no valid server URL (see config)',
      fix: 'pass --server-url=https://… or set FOUNDEROS_RUNNER_URL',
    };
  if (!probe.reachable)
    return {
      name: 'server',
      status: 'fail',
      detail: `${settings.serverUrl} did not answer: ${probe.error}`,
      fix: 'check --server-url / FOUNDEROS_RUNNER_URL, that the server is up, and that this machine can reach it (proxy, firewall, VPN)',
    };
  return {
    name: 'server',
    status: 'ok',
    detail: `${settings.serverUrl} answered (HTTP ${probe.status}) in ${Math.round(probe.elapsedMs)} ms`,
  };
}

/**
 * Claims a job id that cannot exist (a fresh random UUID). Every server authenticates the claim route first
 * (Part 1 of the protocol), so 401 means the token is refused and 404/409 mean it was accepted. The claim's
 * `UPDATE … WHERE id = <random> AND status = 'queued'` matches nothing, so nothing changes. Not the heartbeat:
 * it is a Part 2 extension, and a server without it answers 404 perhaps before looking at the token, which
 * would pass a bad token. Not `jobs/next`: it holds the request for up to 30 s.
 */
async function checkToken(settings: Settings, server: ServerProbe | undefined, deps: DoctorDeps): Promise<Check> {
  const name = 'token';
  if (settings.token === undefined)
    return {
      name,
      status: 'warn',
      detail: 'not checked: no valid token (see config)',
      fix: 'set FOUNDEROS_RUNNER_TOKEN, or pass --token-file=PATH',
    };
  // There is a probe only of a valid server URL.
  if (settings.serverUrl === undefined || server === undefined || !server.reachable)
    return {
      name,
      status: 'warn',
      detail: `not checked (${preview(settings.token)}): the server did not answer`,
      fix: 'fix the server check first',
    };
  const api = createRunnerApi({
    serverUrl: settings.serverUrl,
    token: settings.token,
    userAgent: USER_AGENT,
    requestTimeoutMs: deps.timeoutMs,
  });
  try {
    await firstValueFrom(api.claim(randomUUID()));
    return { name, status: 'ok', detail: `${preview(settings.token)} accepted by the server` };
  } catch (error) {
    if (error instanceof TokenRejectedError)
      return {
        name,
        status: 'fail',
        detail: error.expired
          ? `${preview(settings.token)} has expired${error.expiredAt ? ` (at ${error.expiredAt})` : ''}`
          : `${preview(settings.token)} was rejected (401 ${error.code ?? ''}${error.requestId ? `, requestId ${error.requestId}` : ''})`,
        fix: error.expired
          ? 'rotate the token in the dashboard → Settings → Runner Tokens and use the new one'
          : 'the token is revoked, mistyped or for another server: issue a new one in the dashboard → Settings → Runner Tokens',
      };
    return {
      name,
      status: 'warn',
      detail: `could not check ${preview(settings.token)}: ${networkErrorText(error, deps.timeoutMs)}`,
      fix: 'run the doctor again; quote the requestId to support if it persists',
    };
  }
}

/** Creates the directory if needed (as `start` would), makes it private, and writes and removes a file in it. */
function checkSpoolDir(dir: string): Check {
  const name = 'spool dir';
  try {
    prepareSpoolDir(dir);
    return { name, status: 'ok', detail: `${dir} is writable` };
  } catch (error) {
    if (error instanceof PrivateDirError) return { name, status: 'fail', detail: error.message, fix: error.fix };
    return {
      name,
      status: 'fail',
      detail: `cannot write to ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      fix: 'make that directory writable by this user, or pass --spool-dir=PATH / set FOUNDEROS_RUNNER_SPOOL_DIR',
    };
  }
}

/**
 * Which mode the runner will use, and, when the sandbox cannot work here, why and the exact fix: `on` without it is a
 * failure (start would refuse), `auto` or `off` without it a warning (agents get the user's whole access).
 */
function checkSandbox(mode: string, probe: () => SandboxProbe): Check {
  const name = 'sandbox';
  const found = probe();
  const unsandboxed =
    "agents run with this user's whole access (each in its own workspace; a job's processes are still stopped when it ends)";
  if (mode === 'off')
    return {
      name,
      status: 'warn',
      detail: `off (--sandbox=off): ${unsandboxed}${found.works ? `; ${found.version} works here` : `; it could not run here anyway: ${found.reason}`}`,
      fix: found.works ? 'drop --sandbox=off (or FOUNDEROS_RUNNER_SANDBOX=off) to contain the agents' : found.fix,
    };
  if (found.works) return { name, status: 'ok', detail: `on (--sandbox=${mode}): ${found.version} at ${found.bwrap} works here` };
  return {
    name,
    status: mode === 'on' ? 'fail' : 'warn',
    detail:
      mode === 'on' ? `--sandbox=on, but it cannot run here, so start refuses: ${found.reason}` : `off: ${found.reason}; ${unsandboxed}`,
    fix: found.fix,
  };
}

/** The workspaces' root, a directory of its own (as `start` requires), made private as `start` makes it. */
function checkWorkDir(dir: string, home: string, spoolDir: string): Check {
  const name = 'work dir';
  const problem = workDirProblem(dir, home, spoolDir);
  if (problem) return { name, status: 'fail', detail: problem, fix: 'pass --work-dir=PATH / set FOUNDEROS_RUNNER_WORK_DIR, or drop it' };
  try {
    return { name, status: 'ok', detail: `agents' workspaces go in ${ensurePrivateDir(dir, 'work directory', '--work-dir')}, yours alone` };
  } catch (error) {
    return {
      name,
      status: 'fail',
      detail:
        error instanceof PrivateDirError ? error.message : `cannot make ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      fix:
        error instanceof PrivateDirError
          ? error.fix
          : 'make it writable by this user, or pass --work-dir=PATH / set FOUNDEROS_RUNNER_WORK_DIR',
    };
  }
}

const TURN_ON_NETWORK_TIME =
  'turn on network time (Linux: timedatectl set-ntp true; macOS: System Settings → General → Date & Time; Windows: w32tm /resync)';

function checkClock(server: ServerProbe | undefined): Check {
  const name = 'clock';
  if (server === undefined || !server.reachable) return { name, status: 'warn', detail: 'not checked: the server did not answer' };
  if (server.date === undefined) return { name, status: 'warn', detail: 'not checked: the server sent no Date header' };
  // Date has whole seconds: up to 1 s of difference is rounding, not skew.
  const skewMs = server.at - server.date;
  const seconds = Math.round(Math.abs(skewMs) / 1000);
  if (Math.abs(skewMs) <= MAX_CLOCK_SKEW_MS) return { name, status: 'ok', detail: `within ${Math.max(seconds, 1)} s of the server's` };
  return {
    name,
    status: 'warn',
    detail: `this machine's clock is ${seconds} s ${skewMs > 0 ? 'ahead of' : 'behind'} the server's`,
    fix: TURN_ON_NETWORK_TIME,
  };
}

/** ky's errors name the URL; the cause (ECONNREFUSED, ENOTFOUND, a timeout) is what tells the user what to fix. */
function networkErrorText(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error ? causeText(cause) : errorText(error);
}

const MARKS: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

/** One line per check, the fix after each failure and warning, then a verdict. */
export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.name.length));
  const lines = report.checks.map((check) => {
    const fix = check.fix && check.status !== 'ok' ? ` → fix: ${check.fix}` : '';
    return `${MARKS[check.status]} ${check.name.padEnd(width)}  ${check.detail}${fix}`;
  });
  const failed = report.checks.filter((check) => check.status === 'fail').length;
  const warned = report.checks.filter((check) => check.status === 'warn').length;
  const verdict = failed
    ? `${failed} check(s) failed, ${warned} warning(s): fix the ✗ lines, then run founderos-runner doctor again`
    : `ready to run jobs${warned ? ` (${warned} warning(s))` : ''}`;
  return `founderos-runner v${RUNNER_VERSION} doctor\n${lines.join('\n')}\n${verdict}\n`;
}
