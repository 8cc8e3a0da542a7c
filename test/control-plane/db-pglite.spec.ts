/** The embedded database's footprint: created by a child process, opened with small shared buffers. */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPglite } from '../../src/control-plane/db-pglite.js';
import { describeTempDir } from '../support/temp-dir.js';

describe('PGlite on disk', () => {
  const root = describeTempDir('founderos-pglite-');

  it('should create a new database in a child process, in place only once whole, and open it with 16 MB of shared buffers', async () => {
    const dir = join(root(), 'fresh');
    const db = await openPglite(dir);
    try {
      const { rows } = await db.query<{ shared_buffers: string }>(`SELECT current_setting('shared_buffers') AS shared_buffers`);
      expect(rows).toEqual([{ shared_buffers: '16MB' }]);
      await db.exec('CREATE TABLE kept (n integer); INSERT INTO kept VALUES (42)');
    } finally {
      await db.close();
    }
    expect((await readFile(join(dir, 'PG_VERSION'), 'utf8')).trim()).toMatch(/^\d+$/);
    expect((await readdir(root())).filter((name) => name.includes('.creating-'))).toEqual([]);
    const again = await openPglite(dir);
    try {
      expect((await again.query('SELECT n FROM kept')).rows).toEqual([{ n: 42 }]);
    } finally {
      await again.close();
    }
  }, 120_000);

  it('should refuse a folder that holds other files and no database, naming it, and leave its files alone', async () => {
    const dir = join(root(), 'occupied');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await expect(openPglite(dir)).rejects.toThrow(`${dir} exists but holds no PGlite database`);
    expect(await readdir(dir)).toEqual(['notes.txt']);
    expect((await readdir(root())).filter((name) => name.includes('.creating-'))).toEqual([]);
  }, 120_000);
});
