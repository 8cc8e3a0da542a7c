/** Upgrading an older database: its tokens keep working, and its jobs' instructions reach a runner as they were given. */
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
      expect(
        await migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 2),
        ),
      ).toEqual([2]);
      const { rows } = await db.query<{ days: number }>(`SELECT extract(epoch FROM expires_at - now()) / 86400 AS days FROM tokens`);
      expect(Math.round(Number(rows[0]!.days))).toBe(90);
    } finally {
      await db.close();
    }
  }, 60_000); // PGlite's start alone takes seconds on a busy machine
});

describe('migration 3 (instructions in base64)', () => {
  it('should encode the plain-text instructions of older jobs, so that a runner decodes them to the text the job was given', async () => {
    const db = await openDb({});
    // Long enough that PostgreSQL's encode() would break it into lines of 76 characters.
    const instructions = `Be terse. Ünïcode ✓ ${'and then some more words '.repeat(10)}\nSecond line.`;
    try {
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 2),
      );
      const insert = (id: string, runtimeConfig: unknown) =>
        db.query(
          `INSERT INTO jobs (id, company_id, agent_id, agent_name, prompt, prompt_hash, runtime_config)
           VALUES ($1, 'acme', 'a', 'A', 'p', 'h', $2::jsonb)`,
          [id, JSON.stringify(runtimeConfig)],
        );
      await insert('00000000-0000-4000-8000-000000000001', { instructionsFileContent: instructions, model: 'm' });
      await insert('00000000-0000-4000-8000-000000000002', { instructionsFileContent: null });
      await insert('00000000-0000-4000-8000-000000000003', {});
      expect(
        await migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 3),
        ),
      ).toEqual([3]);
      const { rows } = await db.query<{ runtime_config: Record<string, unknown> }>(`SELECT runtime_config FROM jobs ORDER BY id`);
      const [encoded, withNull, without] = rows.map((row) => row.runtime_config);
      expect(encoded).toEqual({ instructionsFileContent: Buffer.from(instructions).toString('base64'), model: 'm' });
      expect(Buffer.from(encoded!.instructionsFileContent as string, 'base64').toString('utf8')).toBe(instructions);
      expect(withNull).toEqual({ instructionsFileContent: null });
      expect(without).toEqual({});
    } finally {
      await db.close();
    }
  }, 60_000);
});
