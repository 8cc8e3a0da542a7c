import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { AgentAdapter } from '../agents/index.js';
import type { JobPayload } from '../protocol/types.js';
import { processesOfJob } from '../streams/orphans.js';
import type { ProcessSpec } from '../streams/process.js';
import {
  bubblewrapArgs,
  findProgram,
  isAtOrUnder,
  isVisible,
  programIn,
  type SandboxLayout,
  type SandboxPath,
} from '../streams/sandbox.js';
import { openWorkspace } from '../streams/workspace.js';
import { grantAddDirs, runnerPlaceIn, type AddDirsPolicy } from './add-dirs-policy.js';
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
  /**
   * The user's runtime directory (`$XDG_RUNTIME_DIR`, `/run/user/<uid>`): hidden, for its sockets reach outside any
   * sandbox (the session bus, through which `systemd --user` starts processes for the caller; ssh-agent, gpg-agent).
   */
  runtimeDir?: string;
  /** The runner's own program (its dist folder): readable wherever it is installed, for the agent it ships (the demo's). */
  runnerProgram?: string;
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

/**
 * How jobs are placed with `settings`. An exposed path that is, holds or lies in one of the runner's own places is
 * refused (thrown, naming it): the sandbox never shows the runner's token, spool, config or other agents' workspaces.
 */
export function containJobs(settings: ContainmentSettings): Contain {
  const runnerPaths = [settings.spoolDir, settings.workRoot, ...settings.runnerFiles];
  const realRunnerPaths = runnerPaths.map(realPath);
  for (const path of settings.expose) {
    const own = runnerPlaceIn(realPath(path), realRunnerPaths);
    if (own) throw new Error(`--expose ${path} ${own}, which the sandbox never shows to an agent; expose something else`);
  }
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
            const layout = withAgentProgram(
              sandboxLayout(settings, { adapter, env, workspace, addDirs, instructionsPath }),
              // A JavaScript agent runs under this Node (see streams/process.ts): its script is the program to show.
              [findProgram(command, env), command === process.execPath ? args[0] : undefined],
              realRunnerPaths,
            );
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
  const layout: SandboxLayout = {
    hidden: existing([
      settings.workRoot,
      ...credentialStores(settings.home),
      ...(settings.runtimeDir ? [settings.runtimeDir] : []),
      ...othersState,
    ]),
    writable: [run.workspace, ...run.addDirs, ...existing([...ownPaths]).map(({ path }) => path)],
    readable: existing(settings.expose).map(({ path }) => path),
    secret: existing([settings.spoolDir, ...settings.runnerFiles]),
    ...(run.instructionsPath && existsSync(run.instructionsPath) && { instructions: realpathSync(run.instructionsPath) }),
    workdir: run.workspace,
  };
  // The runner's program, when the sandbox would hide it (installed under /tmp, say): the demo's agent is in it.
  const program = settings.runnerProgram && realPath(settings.runnerProgram);
  if (!program) return layout;
  return shownIfHidden(layout, program, [settings.spoolDir, settings.workRoot, ...settings.runnerFiles].map(realPath));
}

/**
 * `layout` with `path` read-only when the sandbox would hide it, unless it holds one of the runner's places that exist
 * (a config file the runner would read from its working directory, if it were there, is not one).
 */
function shownIfHidden(layout: SandboxLayout, path: string, runnerPaths: readonly string[]): SandboxLayout {
  if (
    isVisible(layout, path) ||
    runnerPlaceIn(
      path,
      runnerPaths.filter((place) => existsSync(place)),
    )
  )
    return layout;
  return { ...layout, readable: [...layout.readable, path] };
}

/**
 * The agent's own program, when it is installed under /tmp (a checkout run from there, say), which the sandbox makes
 * private to each job: its folder at the top of /tmp, read-only, unless that folder holds one of the runner's places.
 * A program hidden for any other reason stays hidden, and `programIn` says so.
 */
function withAgentProgram(layout: SandboxLayout, programs: readonly (string | undefined)[], runnerPaths: readonly string[]): SandboxLayout {
  let shown = layout;
  for (const found of programs) {
    if (!found || !existsSync(found)) continue;
    const program = realpathSync(found);
    if (isVisible(shown, program) || !isAtOrUnder(program, '/tmp')) continue;
    const [top] = relative('/tmp', program).split(sep);
    if (top) shown = shownIfHidden(shown, join('/tmp', top), runnerPaths);
  }
  return shown;
}

/** The path with its links resolved when it exists, else as given. */
function realPath(path: string): string {
  return existsSync(path) ? realpathSync(path) : path;
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
