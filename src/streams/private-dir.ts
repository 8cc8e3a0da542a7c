import { chmodSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';

/** A directory the runner cannot keep private: whose it is, or what it is, and what to do. */
export class PrivateDirError extends Error {
  override readonly name = 'PrivateDirError';
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

/**
 * Makes `dir` (its parents too) a directory of the current user that nobody else may enter: created 0700 when missing,
 * and made 0700 when it exists with another mode. Refuses, with a PrivateDirError, a directory that belongs to another
 * user (who could read what the runner keeps there, or swap its files for links), or a path that is no directory.
 * A symbolic link to a directory is followed: the directory it names is the one checked. `what` names it in messages
 * (`spool directory`), `flag` is where the user sets it. Returns the directory's real path.
 */
export function ensurePrivateDir(dir: string, what: string, flag: string, uid = process.getuid?.()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const real = realpathSync(dir);
  const stat = lstatSync(real);
  if (!stat.isDirectory()) throw new PrivateDirError(`${what} ${dir} is not a directory`, `give a directory with ${flag}=PATH`);
  if (uid !== undefined && stat.uid !== uid)
    throw new PrivateDirError(
      `${what} ${dir} belongs to uid ${stat.uid}, not to you (uid ${uid}): its owner could read what the runner keeps there ` +
        'or swap its files for links',
      `use a directory of your own (${flag}=PATH), or take this one over: sudo chown -R $(id -u) ${real}`,
    );
  if ((stat.mode & 0o777) !== 0o700) chmodSync(real, 0o700);
  return real;
}
