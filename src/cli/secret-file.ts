import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { preview } from '../runner/logger.js';

/** A secret is short; a file much bigger than that holds something else, and is not read whole. */
const MAX_SECRET_FILE_BYTES = 1024;

export interface SecretFileOwner {
  /** The user the command runs as; undefined where there are no uids (Windows), and then only the content is checked. */
  uid: number | undefined;
}

export function processSecretFileOwner(): SecretFileOwner {
  return { uid: process.platform === 'win32' ? undefined : process.getuid?.() };
}

/** What a file holds, for its checks and messages: `token` in "token file …", and the shape of its content. */
export interface SecretKind {
  /** e.g. `token`, `admin key`. */
  name: string;
  pattern: RegExp;
  /** The content as a message describes it, e.g. `one token, fos_ and 32 letters or digits`. */
  shape: string;
}

/**
 * The secret held by the file at `path`, or the reason it is refused: the file must belong to the user the command
 * runs as, give no permission to group or others (like ssh's private keys), and hold one secret of its kind and
 * nothing else (a final newline allowed). The file is opened once and checked through that descriptor, so what is
 * checked is what is read. A problem never shows more of the secret than its preview.
 */
export function readSecretFile(
  path: string,
  kind: SecretKind,
  owner: SecretFileOwner = processSecretFileOwner(),
): { secret: string } | { problem: string } {
  const file = `${kind.name} file ${path}`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return {
      problem: `${file} cannot be opened (${(error as NodeJS.ErrnoException).code ?? String(error)}); check the path and that it is yours`,
    };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { problem: `${file} is not a regular file; give the path of a file that holds the ${kind.name}` };
    if (owner.uid !== undefined) {
      if (stat.uid !== owner.uid)
        return {
          problem:
            `${file} belongs to uid ${stat.uid}, not to you (uid ${owner.uid}), so someone else controls the ${kind.name}; ` +
            `run: chown $(id -u) ${path}`,
        };
      const mode = stat.mode & 0o777;
      if ((mode & 0o077) !== 0)
        return {
          problem: `${file} has mode ${mode.toString(8).padStart(4, '0')}: other users can read or change it; run: chmod 600 ${path}`,
        };
    }
    if (stat.size > MAX_SECRET_FILE_BYTES)
      return { problem: `${file} is ${stat.size} bytes: it must hold ${kind.shape}, and nothing else` };
    const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    const secret = buffer
      .subarray(0, length)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (!kind.pattern.test(secret))
      return {
        problem:
          `${file} must hold ${kind.shape}, and nothing else (it holds ${length} bytes starting ${preview(secret)}); ` +
          `copy the ${kind.name} into it again`,
      };
    return { secret };
  } finally {
    closeSync(fd);
  }
}

/**
 * A secret given as a flag is in every local user's `ps` (and /proc/<pid>/cmdline) and in the shell's history: the
 * warning every command prints when it gets one, with what to do instead.
 */
export function commandLineSecretWarning(secret: { what: string; flag: string; instead: string }): string {
  return (
    `${secret.what} was given as --${secret.flag} on the command line, where every user of this machine can read it ` +
    `(ps, /proc/<pid>/cmdline); ${secret.instead}`
  );
}
