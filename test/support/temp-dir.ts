import { existsSync, mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** A temporary directory for the describe it is called in: made before its first test, removed after its last. */
export function describeTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error('the temporary directory is made in beforeAll: use it inside a test');
    return dir;
  };
}

/**
 * A new directory outside the system's temporary folder (in /var/tmp where there is one): the sandbox gives each job a
 * private /tmp, so what a sandbox spec hides or shows must live elsewhere for the spec to prove anything. The caller
 * removes it.
 */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), prefix));
}
