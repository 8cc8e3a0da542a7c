import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isAtOrUnder } from '../streams/sandbox.js';

/**
 * Which extra directories (`addDirs`) a job from the server may be granted: the agent may read and write them, and in
 * the sandbox they are the only places besides its workspace and its CLI's state that it can write. The server is not
 * trusted with the machine: a job asking for `/`, the home directory, the runner's own files or a credential store is
 * failed before any agent starts, naming the entry.
 */
export interface AddDirsPolicy {
  /** The user's home directory: never granted, nor anything that holds it (`/home`, `/`). */
  home: string;
  /** The runner's own places (token file, config, spool, the workspaces' root): never granted, whatever is allowed. */
  runnerPaths: readonly string[];
  /** The usual credential stores: refused unless the user allowed them. */
  credentialStores: readonly string[];
  /** `--allow-dir`: directories that may be granted, with what is beneath them, even where the rule above refuses. */
  allowed: readonly string[];
}

/** A path as the kernel sees it: symbolic links followed (so that a link cannot smuggle a refused place in). */
function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Whether either path holds the other: granting one gives access to part of the other. */
const overlaps = (a: string, b: string) => isAtOrUnder(a, b) || isAtOrUnder(b, a);

/** How `dir` meets `place`, which it overlaps, for a message: "is", "is inside" or "holds". */
const relation = (dir: string, place: string) => (dir === place ? 'is' : isAtOrUnder(dir, place) ? 'is inside' : 'holds');

/**
 * The job's extra directories as the agent gets them (absolute, links resolved; a relative one is taken from the
 * workspace), or why one of them is refused. Anything in the job's own workspace is granted.
 */
export function grantAddDirs(
  addDirs: readonly string[],
  workspace: string,
  policy: AddDirsPolicy,
): { dirs: string[] } | { refused: string } {
  const runnerPaths = policy.runnerPaths.map(real);
  const stores = policy.credentialStores.map(real);
  const allowed = policy.allowed.map(real);
  const home = real(policy.home);
  const dirs: string[] = [];
  for (const [index, entry] of addDirs.entries()) {
    const dir = real(resolve(workspace, entry));
    const refuse = (why: string, fix: string) => ({
      refused: `addDirs[${index}] ${JSON.stringify(entry)}${dir === entry ? '' : ` (${dir})`} ${why}, so the job was not started; ${fix}`,
    });
    if (!isDirectory(dir)) return refuse('is not a directory on the runner’s machine', 'give a directory that exists there');
    if (!isAtOrUnder(dir, workspace)) {
      if (!allowed.some((path) => isAtOrUnder(dir, path))) {
        const why =
          dir === '/'
            ? 'is the root of the filesystem'
            : dir === home
              ? 'is your home directory'
              : isAtOrUnder(home, dir)
                ? `holds your home directory ${home}`
                : credentialWhy(dir, stores);
        if (why) return refuse(why, `the runner's owner can allow it with --allow-dir=${dir}`);
      }
      // Allowed or not: what the runner keeps for itself and for other agents is never a job's.
      const own = runnerPlaceIn(dir, runnerPaths);
      if (own) return refuse(own, 'the runner never grants its token, config, spool or other agents’ workspaces to a job');
    }
    dirs.push(dir);
  }
  return { dirs };
}

/**
 * How `dir` meets one of the runner's own places (`runnerPaths`, real paths), e.g. "holds the runner's own /…/spool",
 * or undefined when it meets none: such a directory is never given to an agent, to write or (`--expose`) to read.
 */
export function runnerPlaceIn(dir: string, runnerPaths: readonly string[]): string | undefined {
  const own = runnerPaths.find((path) => overlaps(dir, path));
  return own && `${relation(dir, own)} the runner's own ${own}`;
}

function credentialWhy(dir: string, stores: readonly string[]): string | undefined {
  const store = stores.find((path) => overlaps(dir, path));
  return store && `${relation(dir, store)} the credential store ${store}`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
