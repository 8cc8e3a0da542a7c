import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import type { AgentAdapter } from '../agents/index.js';
import type { JobPayload } from '../protocol/types.js';
import { processesOfJob } from '../streams/orphans.js';
import type { ProcessSpec } from '../streams/process.js';
import { bubblewrapArgs, programIn, type SandboxLayout, type SandboxPath } from '../streams/sandbox.js';
import { openWorkspace } from '../streams/workspace.js';
import { grantAddDirs, type AddDirsPolicy } from './add-dirs-policy.js';
import { errorText } from './error-text.js';
import { credentialStores } from './credential-stores.js';

/**
 * Where and how each job's agent runs: in the workspace of its agent, with the extra directories the policy grants,
 * in the sandbox when there is one, and with every process of the job, wherever it went, ended with the run.
 */
export interface ContainmentSettings {
  /** bwrap's path when agents run in the sandbox; none: each job still gets its workspace and its processes swept. */
  bwrap?: string;
  /** The workspaces' root (private, existing, its real path). */
  workRoot: string;
  home: string;
  spoolDir: string;
  /** The runner's other own files and directories: its token file, config file and directory, service files. */
  runnerFiles: readonly string[];
  /** `--allow-dir`: directories a job may be granted although the policy would refuse them. */
  allowDirs: readonly string[];
  /** `--expose`: places the sandbox hides that the agent may read all the same (a credential store it needs). */
  expose: readonly string[];
  /** Every agent CLI: a run sees the state of its own CLI, never the others' (their logins). */
  adapters: readonly AgentAdapter[];
}

/** A job placed: its payload as the agent gets it (extra directories granted and resolved), and its process spec's placing. */
export interface Placement {
  job: JobPayload;
  place(spec: ProcessSpec): ProcessSpec;
}

/** Places a job, or says why it cannot run (an extra directory the policy refuses, a workspace that cannot be made). */
export type Contain = (job: JobPayload, adapter: AgentAdapter, instructionsPath: string) => Placement | { refused: string };

export function containJobs(settings: ContainmentSettings): Contain {
  const runnerPaths = [settings.spoolDir, settings.workRoot, ...settings.runnerFiles];
  const policy: AddDirsPolicy = {
    home: settings.home,
    runnerPaths,
    credentialStores: credentialStores(settings.home),
    allowed: settings.allowDirs,
  };
  return (job, adapter, instructionsPath) => {
    let workspace: string;
    try {
      workspace = openWorkspace(settings.workRoot, job.agentId);
    } catch (error) {
      return { refused: `the job cannot start: ${errorText(error)}` };
    }
    const granted = grantAddDirs(job.addDirs ?? [], workspace, policy);
    if ('refused' in granted) return granted;
    const addDirs = granted.dirs;
    const { bwrap } = settings;
    return {
      job: job.addDirs ? { ...job, addDirs } : job,
      place: (spec) => ({
        ...spec,
        cwd: workspace,
        members: () => processesOfJob(job.jobId),
        ...(bwrap && {
          wrap: (command, args, env) => {
            const layout = sandboxLayout(settings, { adapter, env, workspace, addDirs, instructionsPath });
            return [bwrap, [...bubblewrapArgs(layout), programIn(layout, command, env), ...args]];
          },
        }),
      }),
    };
  };
}

/**
 * What a run sees: the filesystem read-only, without the other agents' workspaces, the credential stores (but those
 * exposed) and the other CLIs' state, and never the runner's spool, token or config; writable, its workspace, its
 * granted directories and its CLI's state (created when missing, so that the CLI finds a place to write).
 */
export function sandboxLayout(
  settings: ContainmentSettings,
  run: { adapter: AgentAdapter; env: NodeJS.ProcessEnv; workspace: string; addDirs: readonly string[]; instructionsPath: string },
): SandboxLayout {
  const own = run.adapter.statePaths(settings.home, run.env);
  for (const { path, kind } of own) if (kind === 'dir') mkdirSync(path, { recursive: true, mode: 0o700 });
  const ownPaths = new Set(own.map(({ path }) => path));
  const othersState = settings.adapters
    .filter((adapter) => adapter !== run.adapter)
    .flatMap((adapter) => adapter.statePaths(settings.home, run.env).map(({ path }) => path))
    .filter((path) => !ownPaths.has(path));
  return {
    hidden: existing([settings.workRoot, ...credentialStores(settings.home), ...othersState]),
    writable: [run.workspace, ...run.addDirs, ...existing([...ownPaths]).map(({ path }) => path)],
    secret: existing([settings.spoolDir, ...settings.runnerFiles]),
    readable: existing([...settings.expose, run.instructionsPath]).map(({ path }) => path),
    workdir: run.workspace,
  };
}

/** The paths that exist, by their real paths (a link's target is what a mount covers), each once. */
function existing(paths: readonly string[]): SandboxPath[] {
  const found = new Map<string, SandboxPath>();
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const real = realpathSync(path);
    found.set(real, { path: real, kind: statSync(real).isDirectory() ? 'dir' : 'file' });
  }
  return [...found.values()];
}
