import { homedir } from 'node:os';
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentClis } from '../../agents/index.js';
import { containJobs, type Contain } from '../../runner/containment.js';
import { ensurePrivateDir, PrivateDirError } from '../../streams/private-dir.js';
import { isAtOrUnder, type SandboxProbe } from '../../streams/sandbox.js';
import { ConfigError } from '../command.js';
import { configFileCandidates } from './config-file.js';
import type { RunnerConfig, SandboxMode } from './declarations.js';

/** The runner's compiled program (this file is its dist/cli/start/containment.js): no secret in it, and the demo's agent. */
const RUNNER_PROGRAM = fileURLToPath(new URL('../..', import.meta.url));

/** What `--sandbox` comes to on this machine: whether agents run in the sandbox, and the line that says so. */
export interface SandboxDecision {
  /** bwrap's path when agents run in the sandbox. */
  bwrap?: string;
  level: 'info' | 'warn';
  message: string;
}

/**
 * The sandbox `mode` gives here, from the probe's verdict: `auto` uses it where it works and says plainly when it
 * does not (and what to do); `on` refuses to start without it (a ConfigError naming why, exit code 2); `off` never
 * uses it. Jobs' processes are swept by their marker in every mode.
 */
export function decideSandbox(mode: SandboxMode, probe: () => SandboxProbe): SandboxDecision {
  if (mode === 'off')
    return {
      level: 'warn',
      message:
        "sandbox: off (--sandbox=off): agents run with this user's whole access; each still works in its own workspace, " +
        'and every process of a job is stopped when it ends',
    };
  const found = probe();
  if (found.works)
    return {
      bwrap: found.bwrap,
      level: 'info',
      message:
        `sandbox: on (${found.version}): each agent sees its own processes only, writes only its workspace, its granted ` +
        "directories and its CLI's state, and cannot see the runner's token, spool or config, other agents' workspaces " +
        'or your credential stores',
    };
  if (mode === 'on')
    throw new ConfigError([`config error: --sandbox=on, but the sandbox cannot run here: ${found.reason}. Fix: ${found.fix}`]);
  return {
    level: 'warn',
    message:
      `sandbox: off, because ${found.reason}; agents run with this user's whole access (each in its own workspace, and ` +
      `every process of a job is stopped when it ends). To contain them: ${found.fix}`,
  };
}

/** The runner's own files besides its spool and workspaces: hidden from agents, and never granted to a job. */
export function runnerFiles(config: RunnerConfig, env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME || homedir();
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config');
  return [
    ...(config.tokenFile ? [config.tokenFile] : []),
    ...(config.configFile ? [config.configFile] : []),
    ...configFileCandidates({ cwd: process.cwd(), home, env }),
    // The user's config folder holds the service's settings file, which holds the token.
    join(configHome, 'founderos-runner'),
    join(configHome, 'systemd', 'user', 'founderos-runner.service'),
  ];
}

/**
 * Prepares what each job's containment needs (the workspaces' root, private; the sandbox, as decided) and returns how
 * jobs are placed. A workspaces' root that cannot be made private is a ConfigError (exit code 2) saying what to do.
 */
export function prepareContainment(config: RunnerConfig, env: NodeJS.ProcessEnv, decision: SandboxDecision): Contain {
  const home = env.HOME || homedir();
  const problem = workDirProblem(config.workDir, home, config.spoolDir);
  if (problem) throw new ConfigError([`config error: ${problem}`]);
  let workRoot: string;
  try {
    workRoot = ensurePrivateDir(config.workDir, 'work directory', '--work-dir');
  } catch (error) {
    const fix = error instanceof PrivateDirError ? error.fix : 'make it writable by this user, or pass --work-dir=PATH';
    throw new ConfigError([`config error: cannot use the work directory ${config.workDir}: ${(error as Error).message}; ${fix}`]);
  }
  try {
    return containJobs({
      bwrap: decision.bwrap,
      workRoot,
      home,
      spoolDir: config.spoolDir,
      runnerFiles: runnerFiles(config, env),
      allowDirs: config.allowDirs,
      expose: config.expose,
      runtimeDir: env.XDG_RUNTIME_DIR || `/run/user/${process.getuid?.() ?? ''}`,
      runnerProgram: RUNNER_PROGRAM,
      adapters: agentClis,
    });
  } catch (error) {
    throw new ConfigError([`config error: ${(error as Error).message}`]);
  }
}

/**
 * Why `workDir` cannot hold the workspaces, if it cannot: every agent sees the workspaces' root hidden but for its own
 * workspace, and is never granted anything in it, so it must be a directory of its own, apart from the spool.
 */
export function workDirProblem(workDir: string, home: string, spoolDir: string): string | undefined {
  const real = (path: string) => (existsSync(path) ? realpathSync(path) : resolve(path));
  const [work, spool] = [real(workDir), real(spoolDir)];
  if (isAtOrUnder(real(home), work))
    return (
      `--work-dir ${workDir} is or holds your home directory, which every agent would then see hidden: ` +
      'give a directory of its own, e.g. ~/.local/state/founderos-runner/workspaces (the default)'
    );
  if (isAtOrUnder(work, spool) || isAtOrUnder(spool, work))
    return `--work-dir ${workDir} and --spool-dir ${spoolDir} lie one in the other: give each a directory of its own`;
  return undefined;
}
