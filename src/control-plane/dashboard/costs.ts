/**
 * Costs and run time per day over a range of days, and per company over the same range: what the dashboard's
 * Costs page shows. Days are the browser's (it sends its offset from UTC), so "today" is the reader's today.
 */
import type { CompanyStats } from './queries.js';

export interface CostDay {
  /** YYYY-MM-DD in the reader's time zone. */
  day: string;
  jobs: number;
  failed: number;
  costMicros: number;
  elapsedSec: number;
}

export interface CostReport {
  /** The first and last day of the range, YYYY-MM-DD. */
  from: string;
  to: string;
  /** Every day of the range, oldest first, days without jobs included. */
  days: CostDay[];
  /** Per company over the range. */
  companies: CompanyStats[];
}
