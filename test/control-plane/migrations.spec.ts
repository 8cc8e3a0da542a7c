/**
 * Upgrading an older database: its tokens keep working, its jobs' instructions reach a runner as they were given, and
 * its events are measured for paging and the storage quota.
 */
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

describe('migration 4 (who cancelled a job, the version a runner said)', () => {
  it('should leave older jobs and tokens saying nothing of either, and store both from then on', async () => {
    const db = await openDb({});
    try {
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 3),
      );
      await db.query(
        `INSERT INTO jobs (id, company_id, agent_id, agent_name, prompt, prompt_hash) VALUES ('00000000-0000-4000-8000-000000000001', 'acme', 'a', 'A', 'p', 'h')`,
      );
      expect(
        await migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 4),
        ),
      ).toEqual([4]);
      const { rows } = await db.query<{ cancelled_by: string | null }>('SELECT cancelled_by FROM jobs');
      expect(rows).toEqual([{ cancelled_by: null }]);
      await db.query(`UPDATE jobs SET cancelled_by = 'the dashboard'`);
      await db.query(`SELECT runner_version FROM tokens`);
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe('migration 6 (event sizes and the per-job storage quota)', () => {
  it('should measure the events of an older database and total them per job', async () => {
    const db = await openDb({});
    try {
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= 5),
      );
      const job = '00000000-0000-4000-8000-000000000001';
      await db.query(
        `INSERT INTO jobs (id, company_id, agent_id, agent_name, prompt, prompt_hash) VALUES ($1, 'acme', 'a', 'A', 'p', 'h')`,
        [job],
      );
      const payloads = ['a line', { type: 'assistant', text: 'é中' }, null];
      for (const [i, payload] of payloads.entries()) {
        await db.query(
          `INSERT INTO events (job_id, event_id, attempt, seq, kind, ts, payload) VALUES ($1, $2, 1, $3, 'stdout_line', now(), $4::jsonb)`,
          [job, `00000000-0000-4000-8000-00000000010${i}`, i, payload === null ? null : JSON.stringify(payload)],
        );
      }
      expect(
        await migrate(
          db,
          MIGRATIONS.filter((m) => m.version <= 6),
        ),
      ).toEqual([6]);
      const { rows } = await db.query<{ bytes: number; text: string | null }>(
        `SELECT bytes, payload::text AS text FROM events ORDER BY seq`,
      );
      expect(rows.map((row) => row.bytes)).toEqual(rows.map((row) => (row.text === null ? 0 : Buffer.byteLength(row.text))));
      const { rows: jobs } = await db.query<{ event_bytes: string | number }>(`SELECT event_bytes FROM jobs`);
      expect(Number(jobs[0]!.event_bytes)).toBe(rows.reduce((sum, row) => sum + row.bytes, 0));
    } finally {
      await db.close();
    }
  }, 60_000);
});
