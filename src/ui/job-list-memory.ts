/**
 * The jobs the list showed last, in its order, kept for this tab: on a job's page `j` and `k` go to the next and
 * the previous job of that list, as in a mail client.
 */
import { href, parseHash } from './router.js';

const KEY = 'fos-job-list';

export function rememberJobList(jobIds: string[]): void {
  sessionStorage.setItem(KEY, JSON.stringify(jobIds));
}

/**
 * Goes to the job `step` rows away, in the list last shown, from the job the address names now (not the page's:
 * two presses in a row move two rows, even before the next page has shown).
 */
export function goToNeighbourJob(step: 1 | -1): void {
  let ids: unknown;
  try {
    ids = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
  } catch {
    return;
  }
  const [, jobId] = parseHash(location.hash).parts;
  if (!Array.isArray(ids) || jobId === undefined || !ids.includes(jobId)) return;
  const next = ids[ids.indexOf(jobId) + step];
  if (typeof next === 'string') location.hash = href(`/jobs/${next}`);
}
