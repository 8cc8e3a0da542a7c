/** The reference control plane: the public API of src/control-plane. */
export {
  startControlPlane,
  DEFAULT_LEASE_MS,
  DEFAULT_LONG_POLL_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_LONG_POLL_MS,
  DEFAULT_MAX_POLLS_PER_TOKEN,
  DEFAULT_PART1_JOB_LIMIT_MS,
  DEFAULT_TOKEN_TTL_DAYS,
  type ControlPlane,
  type ControlPlaneOptions,
} from './control-plane.js';
export { AdminClient, type AdminClientOptions } from './admin-client.js';
export { ControlPlaneError } from './errors.js';
export { guardProcess } from './process-guard.js';
export { ADMIN_KEY_ENV, ADMIN_KEY_FILE } from './admin-key.js';
export { DEFAULT_SERVER_PORT, DEFAULT_SERVER_URL, SERVER_URL_ENV, defaultServerDataDir } from './paths.js';
export { openDb, type Db, type OpenDbOptions, type Queryable, type QueryResult } from './db.js';
export { migrate, MIGRATIONS, type Migration } from './migrations.js';
export { RUNNER_LOST_MESSAGE } from './store/runner-jobs.js';
export { generateRunnerToken, isRunnerTokenFormat, tokenPreview } from './tokens.js';
export * from './types.js';
