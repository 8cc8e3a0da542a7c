/** Upgrading a database made before token expiry: its tokens keep working, for 90 days from the upgrade. */
import { describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate, openDb } from '../../src/control-plane/index.js';

describe('migration 2 (token expiry)', () => {
  it('should give the tokens of an older database 90 days from the upgrade', async () => {
    const db = await openDb({});
    try {
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version === 1),
      );
      await db.query(
        `INSERT INTO tokens (id, company_id, token_hash, preview, created_at)
         VALUES ('00000000-0000-4000-8000-000000000001', 'acme', 'h', 'fos_abcd', now() - interval '400 days')`,
      );
      expect(await migrate(db)).toEqual([2]);
      const { rows } = await db.query<{ days: number }>(`SELECT extract(epoch FROM expires_at - now()) / 86400 AS days FROM tokens`);
      expect(Math.round(Number(rows[0]!.days))).toBe(90);
    } finally {
      await db.close();
    }
  }, 60_000); // PGlite's start alone takes seconds on a busy machine
});
