/**
 * Numbered schema migrations, recorded in `schema_migrations` and applied at start-up. Append new ones; never
 * edit one that has shipped. They run in one transaction under an advisory lock, so several servers starting
 * on one PostgreSQL database at once apply each migration exactly once.
 */
import type { Db } from './db.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** NOTIFY channels the triggers below publish on. */
export const CHANNEL_JOB_QUEUED = 'founderos_job_queued'; // payload: company id
export const CHANNEL_JOB_CHANGED = 'founderos_job_changed'; // payload: job id
export const CHANNEL_TOKEN_CHANGED = 'founderos_token_changed'; // payload: token id (from migration 8 on)

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'tokens, jobs, events',
    sql: `
      CREATE TABLE tokens (
        id uuid PRIMARY KEY,
        company_id text NOT NULL,
        name text NOT NULL DEFAULT '',
        token_hash text NOT NULL UNIQUE,          -- sha256 hex of the plaintext; the plaintext is never stored
        preview text NOT NULL,                    -- first 8 characters, for people and logs
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        last_used_at timestamptz
      );

      CREATE TABLE jobs (
        id uuid PRIMARY KEY,
        company_id text NOT NULL,
        agent_id text NOT NULL,
        agent_name text NOT NULL,
        prompt text NOT NULL,
        prompt_hash text NOT NULL,
        session_id text,
        adapter_type text,
        runtime_config jsonb NOT NULL DEFAULT '{}',
        add_dirs jsonb NOT NULL DEFAULT '[]',
        status text NOT NULL DEFAULT 'queued'
          CHECK (status IN ('queued', 'claimed', 'streaming', 'completed', 'failed', 'cancelled')),
        attempt integer NOT NULL DEFAULT 0,       -- incremented by each claim; events remember theirs
        claimed_by_token uuid REFERENCES tokens (id),
        lease_expires_at timestamptz,
        -- clock_timestamp, not now(): jobs enqueued in one transaction still get a FIFO order
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        -- breaks ties between equal timestamps (PGlite's clock ticks in milliseconds) in enqueue order
        enqueue_seq bigserial NOT NULL,
        claimed_at timestamptz,
        completed_at timestamptz,
        exit_code integer,
        signal text,
        elapsed_sec double precision,
        cost_micros bigint,
        result_session_id text,
        cli_version text,
        error_message text
      );
      CREATE INDEX jobs_queue_idx ON jobs (company_id, created_at, enqueue_seq) WHERE status = 'queued';
      CREATE INDEX jobs_lease_idx ON jobs (lease_expires_at) WHERE status IN ('claimed', 'streaming');
      CREATE INDEX jobs_created_idx ON jobs (created_at DESC, enqueue_seq DESC);

      CREATE TABLE events (
        job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        event_id uuid NOT NULL,
        attempt integer NOT NULL,
        seq integer,
        kind text NOT NULL,
        ts timestamptz NOT NULL,
        payload jsonb,
        arrival bigserial NOT NULL,
        PRIMARY KEY (job_id, event_id)
      );
      CREATE INDEX events_arrival_idx ON events (job_id, arrival);

      -- Triggers publish every change, whoever made it, so long-polls on any server attached to this database
      -- wake up (NOTIFY is delivered at commit, when the change is visible).
      CREATE FUNCTION founderos_notify_job() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'queued' THEN
          PERFORM pg_notify('${CHANNEL_JOB_QUEUED}', NEW.company_id);
        END IF;
        PERFORM pg_notify('${CHANNEL_JOB_CHANGED}', NEW.id::text);
        RETURN NULL;
      END $$;
      CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
        FOR EACH ROW EXECUTE FUNCTION founderos_notify_job();
      -- Only real status changes: lease renewals (every heartbeat and batch) stay silent.
      CREATE TRIGGER jobs_notify_status AFTER UPDATE OF status ON jobs
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION founderos_notify_job();

      CREATE FUNCTION founderos_notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Postgres folds identical notifications of one transaction, so a batch wakes followers once.
        PERFORM pg_notify('${CHANNEL_JOB_CHANGED}', NEW.job_id::text);
        RETURN NULL;
      END $$;
      CREATE TRIGGER events_notify AFTER INSERT ON events
        FOR EACH ROW EXECUTE FUNCTION founderos_notify_event();
    `,
  },
  {
    version: 2,
    name: 'token expiry',
    sql: `
      -- Tokens expire (90 days by default, as the protocol says). Tokens made before this migration get 90 days
      -- from the upgrade, so an upgrade never locks a runner out at once.
      ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
      UPDATE tokens SET expires_at = now() + interval '90 days';
      ALTER TABLE tokens ALTER COLUMN expires_at SET NOT NULL;

      -- A token revoked, or whose expiry moved, wakes its company's waiting long-polls on every server of this
      -- database, so a poll holding that token answers 401 at once instead of handing out the next job.
      CREATE FUNCTION founderos_notify_token() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${CHANNEL_JOB_QUEUED}', NEW.company_id);
        RETURN NULL;
      END $$;
      CREATE TRIGGER tokens_notify_change AFTER UPDATE OF revoked_at, expires_at ON tokens
        FOR EACH ROW WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
        EXECUTE FUNCTION founderos_notify_token();
    `,
  },
  {
    version: 3,
    name: 'instructions in base64',
    sql: `
      -- runtimeConfig.instructionsFileContent is base64 on the wire (the protocol, as the cloud and the original runner
      -- read it); jobs stored before held it as plain text. Encoded here, on one line (encode() breaks lines every 76
      -- characters), so that a runner gets the text the job was given.
      UPDATE jobs
         SET runtime_config = jsonb_set(runtime_config, '{instructionsFileContent}',
               to_jsonb(translate(encode(convert_to(runtime_config->>'instructionsFileContent', 'UTF8'), 'base64'), E'\\n', '')))
       WHERE jsonb_typeof(runtime_config->'instructionsFileContent') = 'string';
    `,
  },
  {
    version: 4,
    name: 'who cancelled a job, the version a runner said',
    sql: `
      -- Shown on the job: "cancelled by the dashboard". Jobs cancelled before this say only when.
      ALTER TABLE jobs ADD COLUMN cancelled_by text;
      -- The product token of the runner's user-agent (founderos-runner/0.2.0), kept with last_used_at.
      ALTER TABLE tokens ADD COLUMN runner_version text;
    `,
  },
  {
    version: 5,
    name: 'dashboard session epoch',
    sql: `
      -- One row: the epoch every dashboard session cookie is signed in. Logging out moves it on, which ends every
      -- session (and every copy of its cookie) on every server of this database.
      CREATE TABLE session_epoch (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        epoch bigint NOT NULL DEFAULT 0
      );
      INSERT INTO session_epoch DEFAULT VALUES;
    `,
  },
  {
    version: 6,
    name: 'event sizes and the per-job storage quota',
    sql: `
      -- The size of each event's payload as JSON text, so that a page of events is cut by bytes without reading the
      -- payloads, and each job's total, so that its storage quota is checked without summing its events.
      ALTER TABLE events ADD COLUMN bytes integer;
      UPDATE events SET bytes = coalesce(octet_length(payload::text), 0);
      ALTER TABLE events ALTER COLUMN bytes SET NOT NULL;
      ALTER TABLE jobs ADD COLUMN event_bytes bigint NOT NULL DEFAULT 0;
      UPDATE jobs SET event_bytes = sizes.total
        FROM (SELECT job_id, sum(bytes) AS total FROM events GROUP BY job_id) sizes
       WHERE sizes.job_id = jobs.id;
    `,
  },
  {
    version: 7,
    name: 'usage limits',
    sql: `
      -- A job that failed on a usage limit (docs/usage-limits.md): when a runner last reported one, the reset it stated
      -- (NULL when the CLI gave none), and how many limits the job has hit; until the last allowed one, such a job goes
      -- back to the queue instead of failing.
      ALTER TABLE jobs ADD COLUMN usage_limited_at timestamptz;
      ALTER TABLE jobs ADD COLUMN usage_limit_resets_at timestamptz;
      ALTER TABLE jobs ADD COLUMN usage_limit_count integer NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 8,
    name: 'offers, token notifications by id, one notification per events statement',
    sql: `
      -- A queued job handed to one waiting long-poll is not handed to another until this time (or its claim), on
      -- whichever server the other poll waits: one job, one runner, even with many servers on one database.
      ALTER TABLE jobs ADD COLUMN offered_until timestamptz;

      -- A token revoked, or whose expiry moved, is named on a channel of its own: every server forgets what it
      -- remembered of that token, and only that token's waiting long-polls are answered (401, or 204 to poll again).
      CREATE OR REPLACE FUNCTION founderos_notify_token() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${CHANNEL_TOKEN_CHANGED}', NEW.id::text);
        RETURN NULL;
      END $$;

      -- One notification per events statement (a batch of up to 256 events), not one pg_notify call per row.
      DROP TRIGGER events_notify ON events;
      DROP FUNCTION founderos_notify_event();
      CREATE FUNCTION founderos_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${CHANNEL_JOB_CHANGED}', job_id::text) FROM (SELECT DISTINCT job_id FROM stored) AS batch;
        RETURN NULL;
      END $$;
      CREATE TRIGGER events_notify AFTER INSERT ON events REFERENCING NEW TABLE AS stored
        FOR EACH STATEMENT EXECUTE FUNCTION founderos_notify_events();
    `,
  },
];

/** An arbitrary constant naming this schema's advisory lock. */
const MIGRATION_LOCK_KEY = 7_300_417_041;

/** Applies pending migrations; resolves to the versions it applied. */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => Number(row.version)));
    const newest = Math.max(0, ...migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => v > newest);
    if (unknown.length > 0) {
      throw new Error(
        `The database has schema version ${Math.max(...unknown)}, newer than this server knows (${newest}). ` +
          'Upgrade founderos-runner, or point the server at another database.',
      );
    }
    const done: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      done.push(migration.version);
    }
    return done;
  });
}
