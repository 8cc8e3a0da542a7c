import { closeSync, constants, openSync, writeFileSync } from 'node:fs';

const { O_APPEND, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_WRONLY } = constants;
/** Where the platform has it (not Windows): a symbolic link at the end of the path fails the open with ELOOP. */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * How the runner opens the files of its spool and the agent's output: never through a symbolic link (one planted at a
 * job's file would send its output, batches or instructions elsewhere), and never reusing a file that must be new.
 */
export const OPEN = {
  read: O_RDONLY | NOFOLLOW,
  readWrite: O_RDWR | NOFOLLOW,
  /** Appends to the file, creating it if it is missing. */
  append: O_WRONLY | O_APPEND | O_CREAT | NOFOLLOW,
  /** Creates the file; fails with EEXIST when anything, a link included, is already there. */
  createNew: O_RDWR | O_CREAT | O_EXCL | NOFOLLOW,
} as const;

/** Writes `content` to a new file at `path`, mode 0600; fails with EEXIST when anything is there already. */
export function writeNewFile(path: string, content: string | Uint8Array): void {
  const fd = openSync(path, OPEN.createNew, 0o600);
  try {
    writeFileSync(fd, content);
  } finally {
    closeSync(fd);
  }
}
