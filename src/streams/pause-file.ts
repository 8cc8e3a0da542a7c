import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIsoTimestamp } from '../protocol/iso-time.js';
import { isObject } from '../protocol/values.js';

/** The file in the spool folder that holds the agent CLIs paused after a usage limit. */
export const PAUSE_FILE = 'usage-limits.json';

/** One agent CLI's pause after a usage limit, as the file keeps it. */
export interface RecordedPause {
  /** When the pause ends (ISO-8601). */
  until: string;
  /** When the limit was hit. */
  since: string;
  /** What the job that hit it reported. */
  reason: string;
}

export const pauseFilePath = (spoolDir: string) => join(spoolDir, PAUSE_FILE);

/**
 * Writes the pauses in force, by agent CLI (mode 0600, written aside then renamed, so that a reader never meets half a
 * file); removes the file when none is left. `doctor` reads it, and so does a runner started while a pause lasts.
 */
export function writePauses(path: string, pauses: Readonly<Record<string, RecordedPause>>): void {
  if (Object.keys(pauses).length === 0) {
    rmSync(path, { force: true });
    return;
  }
  const aside = `${path}.tmp`;
  writeFileSync(aside, `${JSON.stringify(pauses, null, 2)}\n`, { mode: 0o600 });
  renameSync(aside, path);
}

/**
 * The pauses the file holds: none when there is no file; each entry that is what it should be (an object with ISO
 * times and a reason), the others left out, so that a damaged file costs a pause, never a start.
 */
export function readPauses(path: string): Record<string, RecordedPause> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
  if (!isObject(parsed)) return {};
  const pauses: Record<string, RecordedPause> = {};
  for (const [agent, pause] of Object.entries(parsed)) {
    if (isObject(pause) && isIsoTimestamp(pause.until) && isIsoTimestamp(pause.since) && typeof pause.reason === 'string') {
      pauses[agent] = { until: pause.until, since: pause.since, reason: pause.reason };
    }
  }
  return pauses;
}
