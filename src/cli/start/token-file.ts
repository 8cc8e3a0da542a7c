import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TOKEN_PATTERN } from '../../protocol/types.js';
import { preview } from '../../runner/logger.js';

/** A token is 36 characters; a file much bigger than that is not a token file, and is not read whole. */
const MAX_TOKEN_FILE_BYTES = 1024;

export interface TokenFileOwner {
  /** The user the runner runs as; undefined where there are no uids (Windows), and then only the content is checked. */
  uid: number | undefined;
}

export function processTokenFileOwner(): TokenFileOwner {
  return { uid: process.platform === 'win32' ? undefined : process.getuid?.() };
}

/**
 * The token held by the file at `path`, or the reason it is refused: the file must belong to the user the runner runs
 * as, give no permission to group or others (like ssh's private keys), and hold one token and nothing else (a final
 * newline allowed). The file is opened once and checked through that descriptor, so what is checked is what is read.
 */
export function readTokenFile(path: string, owner: TokenFileOwner = processTokenFileOwner()): { token: string } | { problem: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return {
      problem:
        `token file ${path} cannot be opened (${(error as NodeJS.ErrnoException).code ?? String(error)}); ` +
        'check the path and that it is yours',
    };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { problem: `token file ${path} is not a regular file; give the path of a file that holds the token` };
    if (owner.uid !== undefined) {
      if (stat.uid !== owner.uid)
        return {
          problem:
            `token file ${path} belongs to uid ${stat.uid}, not to you (uid ${owner.uid}), so someone else controls the token; ` +
            `run: chown $(id -u) ${path}`,
        };
      const mode = stat.mode & 0o777;
      if ((mode & 0o077) !== 0)
        return {
          problem:
            `token file ${path} has mode ${mode.toString(8).padStart(4, '0')}: other users can read or change it; ` +
            `run: chmod 600 ${path}`,
        };
    }
    if (stat.size > MAX_TOKEN_FILE_BYTES)
      return {
        problem: `token file ${path} is ${stat.size} bytes: it must hold one token (fos_ and 32 letters or digits) and nothing else`,
      };
    const buffer = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    const token = buffer
      .subarray(0, length)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (!TOKEN_PATTERN.test(token))
      return {
        problem:
          `token file ${path} must hold one token, fos_ and 32 letters or digits, and nothing else ` +
          `(it holds ${length} bytes starting ${preview(token)}); copy the token into it again`,
      };
    return { token };
  } finally {
    closeSync(fd);
  }
}
