/**
 * All SQL of the control plane, over the `Db` interface (the same statements on PGlite and PostgreSQL), in three
 * stores: runner tokens (tokens.ts), jobs as the admin API sees them (admin-jobs.ts) and jobs as a runner holds
 * them (runner-jobs.ts); rows.ts maps the tables' rows to the API's shapes. The stores know states and ownership,
 * nothing of HTTP. Each part of the server is given the stores it uses.
 */
import type { Db } from '../db.js';
import { AdminJobStore } from './admin-jobs.js';
import { RunnerJobStore, type RunnerJobStoreOptions } from './runner-jobs.js';
import { TokenStore, type TokenStoreOptions } from './tokens.js';

export type StoreOptions = RunnerJobStoreOptions & TokenStoreOptions;

export interface Store {
  tokens: TokenStore;
  adminJobs: AdminJobStore;
  runnerJobs: RunnerJobStore;
}

export function createStore(db: Db, options: StoreOptions): Store {
  return {
    tokens: new TokenStore(db, options),
    adminJobs: new AdminJobStore(db),
    runnerJobs: new RunnerJobStore(db, options),
  };
}
