/**
 * The jobs the list showed last, in its order, kept for this tab: on a job's page `j` and `k` go to the next and
 * the previous job of that list, as in a mail client.
 */
const KEY = 'fos-job-list';

export function rememberJobList(jobIds: string[]): void {
  sessionStorage.setItem(KEY, JSON.stringify(jobIds));
}

/** Calls `go` with the job `step` rows away from `jobId` in the list last shown, if there is one. */
export function neighbourJob(jobId: string, step: 1 | -1, go: (jobId: string) => void): void {
  let ids: unknown;
  try {
    ids = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
  } catch {
    return;
  }
  if (!Array.isArray(ids)) return;
  const next = ids[ids.indexOf(jobId) + step];
  if (ids.includes(jobId) && typeof next === 'string') go(next);
}
