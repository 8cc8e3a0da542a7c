/**
 * Where the admin key comes from: the option, else FOUNDEROS_ADMIN_KEY, else `<dataDir>/admin.key` (created,
 * mode 0600, on first start), else (in memory) a random key for this process only.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateAdminKey } from './tokens.js';

export const ADMIN_KEY_ENV = 'FOUNDEROS_ADMIN_KEY';
export const ADMIN_KEY_FILE = 'admin.key';

export interface ResolvedAdminKey {
  key: string;
  /** Where it came from, for the start-up message (never the key itself). */
  source: 'option' | 'env' | 'file' | 'new-file' | 'ephemeral';
  file?: string;
}

export function adminKeyFile(dataDir: string): string {
  return join(dataDir, ADMIN_KEY_FILE);
}

/** The key stored in a data dir, or undefined when there is none. */
export async function readAdminKeyFile(dataDir: string): Promise<string | undefined> {
  try {
    const key = (await readFile(adminKeyFile(dataDir), 'utf8')).trim();
    return key === '' ? undefined : key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function resolveAdminKey(options: {
  adminKey?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<ResolvedAdminKey> {
  if (options.adminKey !== undefined && options.adminKey !== '') return { key: options.adminKey, source: 'option' };
  const fromEnv = (options.env ?? process.env)[ADMIN_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { key: fromEnv.trim(), source: 'env' };
  if (options.dataDir === undefined) return { key: generateAdminKey(), source: 'ephemeral' };

  const file = adminKeyFile(options.dataDir);
  const existing = await readAdminKeyFile(options.dataDir);
  if (existing !== undefined) return { key: existing, source: 'file', file };
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const key = generateAdminKey();
  try {
    // 'wx': if two servers start at once on one data dir, one writes and the other reads the winner's key.
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return { key, source: 'new-file', file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const winner = await readAdminKeyFile(options.dataDir);
    if (winner === undefined) throw new Error(`${file} exists but is empty; delete it and start the server again.`);
    return { key: winner, source: 'file', file };
  }
}
