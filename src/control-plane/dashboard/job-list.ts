/**
 * The dashboard's job list: one page of the jobs that match a filter, newest first, with a cursor to the pages
 * around it, and the changes to that page as they happen. What the list and its stream send.
 */
import type { JobStatus } from '../types.js';

/** A row of the list: a job without what only its own page shows (the whole prompt, its settings). */
export interface JobSummary {
  jobId: string;
  companyId: string;
  agentName: string;
  adapterType: string | null;
  status: JobStatus;
  attempt: number;
  claimedByTokenId: string | null;
  createdAt: string;
  claimedAt: string | null;
  completedAt: string | null;
  exitCode: number | null;
  signal: string | null;
  elapsedSec: number | null;
  costMicros: number | null;
  /** The prompt's first characters. */
  promptPreview: string;
  /** The first line of the error message, when there is one. */
  errorLine: string | null;
}

/** Where a page sits in the whole list, and what is around it. */
export interface JobListPosition {
  /** Jobs that match the filter. */
  total: number;
  /** Matching jobs newer than the page's first row (0 on the first page). */
  offset: number;
  hasNewer: boolean;
  hasOlder: boolean;
  /** Running jobs (claimed or streaming) of the filter's company, or of all: what "stop all running" would stop. */
  running: number;
}

export interface JobListPage extends JobListPosition {
  jobs: JobSummary[];
}

/** What changed on the page since the last message: rows new or changed, and the page's order now. */
export interface JobListChanges extends JobListPosition {
  upsert: JobSummary[];
  order: string[];
}

/** The values the list's filters offer. */
export interface JobFacets {
  companies: string[];
  agents: string[];
}
