import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * The sandbox an agent runs in on Linux: bubblewrap (`bwrap`, Debian's and every distribution's `bubblewrap`), which
 * builds a new mount, PID and IPC namespace from a list of arguments and runs the agent in it. Unprivileged: it uses
 * the kernel's user namespaces, so it needs no setuid helper and no daemon.
 *
 * Inside, the agent has its own PID namespace and /proc (no process of the runner, nor of another job, is visible, and
 * when the sandbox's first process ends the kernel ends every other one in it) and a private /tmp; it sees the whole
 * filesystem read-only except what the layout hides, and may write only where the layout says. The network is the
 * machine's: the agent needs its model's API.
 */

/** A path the sandbox hides or binds, and whether it is a directory or a single file. */
export interface SandboxPath {
  path: string;
  kind: 'dir' | 'file';
}

/** What an agent sees of the filesystem: absolute, resolved paths that exist. Later entries win over earlier ones. */
export interface SandboxLayout {
  /** Hidden first (other agents' workspaces, credential stores, other CLIs' state): the binds below may open holes in them. */
  hidden: readonly SandboxPath[];
  /** Writable: the agent's workspace, the directories granted to the job, its CLI's own state. */
  writable: readonly string[];
  /** Read-only holes in what is hidden: the credential stores the user exposed, the runner's own program. */
  readable: readonly string[];
  /** Hidden after every bind above, so that none of them can show these: the runner's token, config and spool. */
  secret: readonly SandboxPath[];
  /** The job's instructions file, read-only: the one hole in the spool. */
  instructions?: string;
  /** The agent's working directory. */
  workdir: string;
}

/** Namespaces and the fresh mounts every sandbox starts from: the filesystem read-only, new /dev, /proc and /tmp. */
const BASE_ARGS = ['--unshare-pid', '--unshare-ipc', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];

/**
 * The bwrap arguments that build `layout`, up to and including the `--` after which the program and its arguments
 * go. A hidden directory is covered by an empty tmpfs, made read-only once every hole in it is bound; a hidden file by
 * /dev/null, read-only. No `--die-with-parent`: like an agent run without the sandbox, it outlives a runner that is
 * killed, so that its output is still delivered by the next start, which stops it. No `--new-session`: the runner
 * signals the agent through the process group it shares with bwrap.
 */
export function bubblewrapArgs(layout: SandboxLayout): string[] {
  const hide = ({ path, kind }: SandboxPath) => (kind === 'dir' ? ['--tmpfs', path] : ['--ro-bind', '/dev/null', path]);
  const masks = [...layout.hidden, ...layout.secret].filter((entry) => entry.kind === 'dir');
  return [
    ...BASE_ARGS,
    ...layout.hidden.flatMap(hide),
    ...layout.writable.flatMap((path) => ['--bind', path, path]),
    ...layout.readable.flatMap((path) => ['--ro-bind', path, path]),
    ...layout.secret.flatMap(hide),
    ...(layout.instructions ? ['--ro-bind', layout.instructions, layout.instructions] : []),
    ...masks.flatMap(({ path }) => ['--remount-ro', path]),
    // A private /tmp: a TMPDIR elsewhere would be read-only in here.
    '--setenv',
    'TMPDIR',
    '/tmp',
    '--chdir',
    layout.workdir,
    '--',
  ];
}

/** Whether the sandbox works on this machine, and if not, why and what to do. */
export type SandboxProbe = { works: true; bwrap: string; version: string } | { works: false; reason: string; fix: string; bwrap?: string };

/** The packages that provide bwrap, by distribution, for the fix of a machine that lacks it. */
const INSTALL_BUBBLEWRAP =
  'install bubblewrap: sudo apt-get install bubblewrap (Debian, Ubuntu), sudo dnf install bubblewrap (Fedora), ' +
  'sudo pacman -S bubblewrap (Arch), sudo zypper install bubblewrap (openSUSE)';

/**
 * Runs bwrap once with the namespaces and mounts of every sandbox, on a program that does nothing, and says whether
 * that worked (with bwrap's version) or why not, with the exact fix. Synchronous and quick (one short-lived process):
 * asked once, when the runner starts, and by `doctor`.
 */
export function probeSandbox(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): SandboxProbe {
  if (platform !== 'linux')
    return {
      works: false,
      reason: `there is no sandbox for ${platform} in this runner (bubblewrap is Linux-only)`,
      fix: "run the runner on Linux with bubblewrap for a sandbox, or in a VM or container of its own; without one the agent has the whole of this user's access",
    };
  const bwrap = findProgram('bwrap', env);
  if (!bwrap) return { works: false, reason: 'bwrap (bubblewrap) is not installed, or not on PATH', fix: INSTALL_BUBBLEWRAP };
  const noop = findProgram('true', env) ?? '/bin/sh';
  const trial = spawnSync(bwrap, [...BASE_ARGS, '--', noop, ...(noop.endsWith('/sh') ? ['-c', ':'] : [])], {
    env,
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (trial.status === 0) {
    const version = spawnSync(bwrap, ['--version'], { env, encoding: 'utf8', timeout: 10_000 }).stdout?.trim();
    return { works: true, bwrap, version: version || 'bubblewrap' };
  }
  const said = (trial.stderr ?? '').trim().split('\n').at(-1) || (trial.error ? String(trial.error.message) : `exit ${trial.status}`);
  return { works: false, bwrap, reason: `${bwrap} cannot create the sandbox here: ${said}`, fix: namespaceFix() };
}

/** Why the kernel refuses bwrap its user namespace, read from the settings that do, and how to allow it. */
function namespaceFix(): string {
  const setting = (name: string) => {
    try {
      return readFileSync(`/proc/sys/${name}`, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  if (setting('kernel/apparmor_restrict_unprivileged_userns') === '1')
    return (
      'AppArmor restricts unprivileged user namespaces here (Ubuntu 23.10 and later): give bwrap a profile that allows ' +
      "them, with sudo tee /etc/apparmor.d/bwrap <<'EOF'\nabi <abi/4.0>,\ninclude <tunables/global>\n" +
      'profile bwrap /usr/bin/bwrap flags=(unconfined) {\n  userns,\n  include if exists <local/bwrap>\n}\nEOF\n' +
      'then sudo systemctl reload apparmor (or, for every program: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)'
    );
  if (setting('kernel/unprivileged_userns_clone') === '0')
    return (
      'unprivileged user namespaces are turned off: sudo sysctl -w kernel.unprivileged_userns_clone=1 ' +
      "(and echo 'kernel.unprivileged_userns_clone=1' | sudo tee /etc/sysctl.d/90-userns.conf to keep it)"
    );
  if (setting('user/max_user_namespaces') === '0')
    return (
      'user namespaces are limited to none: sudo sysctl -w user.max_user_namespaces=15000 ' +
      "(and echo 'user.max_user_namespaces=15000' | sudo tee /etc/sysctl.d/90-userns.conf to keep it)"
    );
  return (
    'allow unprivileged user namespaces for bwrap (a container needs them allowed by its runtime, e.g. ' +
    'docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined), or run the runner on the host; ' +
    'or start it with --sandbox=off to run agents unsandboxed'
  );
}

/** The absolute path of `name` on the environment's PATH (or `name` itself when it holds a slash), if it can run. */
export function findProgram(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = name.includes('/')
    ? [name]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(isAbsolute)
        .map((dir) => join(dir, name));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
}

/** The program to run in the sandbox: found on PATH, and visible in there; else an error (code ENOENT when it is missing). */
export function programIn(layout: SandboxLayout, name: string, env: NodeJS.ProcessEnv): string {
  const found = findProgram(name, env);
  if (!found) throw Object.assign(new Error(`${name}: not found on PATH`), { code: 'ENOENT' });
  const real = realpathSync(found);
  if (!isVisible(layout, real))
    throw new Error(
      `${real} is hidden in the sandbox (under /tmp, which is private to each job, or under a directory the runner ` +
        'hides): install the agent elsewhere, or run with --sandbox=off',
    );
  return found;
}

/**
 * Whether `path` can be seen in a sandbox of `layout`: the mount that decides is the deepest one at or above the path,
 * the last one of those when several are at the same place, as bwrap lays them out in order.
 */
export function isVisible(layout: SandboxLayout, path: string): boolean {
  const mounts: { at: string; visible: boolean }[] = [
    { at: '/tmp', visible: false },
    ...layout.hidden.map(({ path: at }) => ({ at, visible: false })),
    ...layout.writable.map((at) => ({ at, visible: true })),
    ...layout.readable.map((at) => ({ at, visible: true })),
    ...layout.secret.map(({ path: at }) => ({ at, visible: false })),
    ...(layout.instructions ? [{ at: layout.instructions, visible: true }] : []),
  ];
  let decides: { at: string; visible: boolean } | undefined;
  for (const mount of mounts) if (isAtOrUnder(path, mount.at) && mount.at.length >= (decides?.at.length ?? 0)) decides = mount;
  return decides?.visible ?? true;
}

/** Whether `path` is `dir` or lies beneath it (both absolute and normalised). */
export function isAtOrUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}
