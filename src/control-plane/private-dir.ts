/**
 * The server's data dir holds prompts, instructions and agent output: only its owner may read it, whatever mode
 * the directory had before (one made by hand or by another tool is often 0755). PGlite unpacks its initial files
 * world-readable (0666), so the tree is narrowed once the database is open; files PostgreSQL creates later are
 * 0600, and the 0700 directory keeps everyone else out in any case.
 */
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Creates `dir` (and its parents) if needed and makes it 0700, also when it already existed with another mode. */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Makes every directory under `dir` 0700 and every file 0600 (symbolic links are left alone, not followed). */
export async function makePrivateTree(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await makePrivateTree(path);
    else if (entry.isFile()) await chmod(path, 0o600);
  }
}
