/**
 * One job as a log viewer: a compact header, then the transcript filling the rest of the screen, live. Readable
 * (steps, text, output lines) or raw; times since the start or by the clock; search that marks every match, with
 * a count and next / previous; a link to any event or output line, and a button that copies it; the end followed
 * while the reader is there. Keys: `/` search, `f` follow, `t` times, `j` / `k` next / previous job.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { JobDetail, StoredEvent } from '../../control-plane/types.js';
import { useReachable } from '../connection.js';
import { RUNNING, TERMINAL } from '../components/status.js';
import { type Row, rowTexts } from '../components/transcript-rows.js';
import { TranscriptView, type Reveal, type TimeMode } from '../components/transcript-view.js';
import { exactCost, firstLine, formatAbsolute, formatClock, formatCost, formatDuration, formatOffset, runSeconds } from '../format.js';
import { useCopy, useNow, useRunners, useShortcuts, useTitle } from '../hooks.js';
import { useJobStream } from '../job-stream.js';
import { goToNeighbourJob } from '../job-list-memory.js';
import { href } from '../router.js';
import { countMatches, plainText, searchPattern } from '../search.js';
import { rawLine } from '../transcript.js';
import { JobHeader, JobNotice } from './job-header.js';

const TIME_MODE_KEY = 'fos-time-mode';
/** New rows are announced to screen readers at most this often, as one summary. */
const ANNOUNCE_EVERY_MS = 4000;

const STATUS_SYMBOL: Record<JobDetail['status'], string> = {
  queued: '◌',
  claimed: '▶',
  streaming: '▶',
  completed: '✓',
  failed: '✕',
  cancelled: '⊘',
};

/** One line that says what a row is, for the screen reader's announcement of new rows. */
function rowSummary(row: Row): string {
  if (row.kind === 'raw') return firstLine(plainText(rawLine(row.event)), 140);
  if (row.kind === 'step')
    return `${row.name} ${row.summary ?? ''}: ${row.result ? (row.result.entry.error ? 'failed' : 'done') : 'running'}`;
  return firstLine(plainText(row.entry.body), 140) || row.entry.title;
}

/** The last row of a finished job's transcript: how it ended, and when. */
function EndRow({ job, startMs, timeMode }: { job: JobDetail; startMs: number | undefined; timeMode: TimeMode }) {
  if (!TERMINAL.includes(job.status) || !job.completedAt) return null;
  const at = job.completedAt;
  const time = timeMode === 'clock' || startMs === undefined ? formatClock(at) : formatOffset(Date.parse(at) - startMs);
  const exit = job.signal ? `signal ${job.signal}` : job.exitCode !== null ? `exit ${job.exitCode}` : undefined;
  const ran = runSeconds(job);
  return (
    <div class={`row r-end s-${job.status}`} data-end={job.status}>
      <span class="ts" title={formatAbsolute(at)}>
        {time}
      </span>
      <div class="row-body end">
        <strong>{job.status === 'completed' ? 'Completed' : job.status === 'failed' ? 'Failed' : 'Cancelled'}</strong>
        {job.status === 'cancelled' && `${job.cancelledBy ? ` by ${job.cancelledBy}` : ''} at ${formatClock(at)}`}
        {exit && ` · ${exit}`}
        {ran !== null && ` · ran ${formatDuration(ran)}`}
        {job.costMicros !== null && <span title={exactCost(job.costMicros)}> · {formatCost(job.costMicros)}</span>}
        {job.status === 'failed' && job.errorMessage && <div class="error">{job.errorMessage}</div>}
      </div>
    </div>
  );
}

/**
 * When the job started, for times since the start: its claim, or its first event when that came earlier by the
 * runner's clock (the two machines' clocks differ a little), so that no time reads before the start.
 */
function startOf(job: JobDetail, firstEvent: StoredEvent | undefined): number | undefined {
  const claimed = job.claimedAt ? Date.parse(job.claimedAt) : undefined;
  const first = firstEvent ? Date.parse(firstEvent.ts) : undefined;
  if (claimed === undefined || first === undefined) return claimed ?? first;
  return Math.min(claimed, first);
}

function useTimeMode(): [TimeMode, () => void] {
  const [mode, setMode] = useState<TimeMode>(() => (localStorage.getItem(TIME_MODE_KEY) === 'clock' ? 'clock' : 'offset'));
  return [
    mode,
    () => {
      const next = mode === 'clock' ? 'offset' : 'clock';
      localStorage.setItem(TIME_MODE_KEY, next);
      setMode(next);
    },
  ];
}

/** Matches of the search per row, and the steps whose hidden body holds one (they open while the search lasts). */
function useMatches(rows: Row[], pattern: RegExp | undefined, version: number) {
  return useMemo(() => {
    const counts: number[] = [];
    const openForSearch = new Set<string>();
    let total = 0;
    if (pattern) {
      for (const row of rows) {
        const perText = rowTexts(row).map((text) => (text ? countMatches(plainText(text), pattern) : 0));
        const count = perText.reduce((a, b) => a + b, 0);
        counts.push(count);
        total += count;
        // A step's third and fourth texts are its body (input and output): a match there opens it.
        if (row.kind === 'step' && perText.slice(2).some((count) => count > 0)) openForSearch.add(row.key);
      }
    }
    return { counts, total, openForSearch };
  }, [rows, pattern, version]);
}

/** The row and the index within it of the n-th match. */
function locate(counts: number[], n: number): { row: number; index: number } | undefined {
  let left = n;
  for (const [row, count] of counts.entries()) {
    if (left < count) return { row, index: left };
    left -= count;
  }
  return undefined;
}

export function JobPage({ jobId, query }: { jobId: string; query: URLSearchParams }) {
  const raw = query.get('mode') === 'raw';
  const mode = raw ? 'raw' : undefined;
  const targetId = query.get('event') ?? undefined;
  const targetLine = Number(query.get('line')) || undefined;
  const { job, error, state, version, transcript, keepFrom, loadDropped } = useJobStream(jobId);
  const runners = useRunners();
  const reachable = useReachable();
  const running = job !== undefined && RUNNING.includes(job.status);
  const now = useNow(job !== undefined && !TERMINAL.includes(job.status));
  const [typed, setTyped] = useState('');
  const [needle, setNeedle] = useState('');
  const [matchIndex, setMatchIndex] = useState(0);
  const [follow, setFollow] = useState(targetId === undefined);
  const [timeMode, toggleTimeMode] = useTimeMode();
  const [reveal, setReveal] = useState<Reveal>();
  const [copied, copy] = useCopy('Link copied.', 'Copying is not allowed here: copy the address bar.');
  const [announcement, setAnnouncement] = useState('');
  const search = useRef<HTMLInputElement>(null);
  const nonce = useRef(0);

  useEffect(() => {
    const timer = setTimeout(() => setNeedle(typed), 150);
    return () => clearTimeout(timer);
  }, [typed]);

  const rows: Row[] = useMemo(
    () => (raw ? transcript.held.events().map((event): Row => ({ kind: 'raw', key: event.eventId, event })) : transcript.timeline.items),
    [raw, version, transcript],
  );
  const pattern = useMemo(() => searchPattern(needle), [needle]);
  const { counts, total, openForSearch } = useMatches(rows, pattern, version);
  const current = pattern && total > 0 ? locate(counts, Math.min(matchIndex, total - 1)) : undefined;

  const revealRow = (row: number, what: Reveal['what']) => setReveal({ row, what, nonce: ++nonce.current });
  const revealMatch = (n: number) => {
    const found = locate(counts, n);
    if (found) revealRow(found.row, 'match');
  };
  const goToMatch = (n: number) => {
    if (total === 0) return;
    const next = ((n % total) + total) % total;
    setMatchIndex(next);
    revealMatch(next);
  };
  // A new search starts at its first match.
  useEffect(() => {
    setMatchIndex(0);
    if (pattern) revealMatch(0);
  }, [pattern]);

  // A link to an event (or a line of its output): shown once its row is here, and not followed away from.
  const targetRow =
    targetId === undefined
      ? -1
      : rows.findIndex((row) => row.event.eventId === targetId || (row.kind === 'step' && row.result?.event.eventId === targetId));
  useEffect(() => {
    if (targetRow < 0) return;
    setFollow(false);
    revealRow(targetRow, targetLine ? 'line' : 'row');
  }, [targetId, targetLine, targetRow >= 0, raw]);

  // New rows are told to screen readers, politely and at most every few seconds, while the reader follows the end.
  const announced = useRef({ count: 0, at: 0 });
  useEffect(() => {
    const last = rows.at(-1);
    if (!follow || !last || rows.length === announced.current.count) return;
    const wait = Math.max(0, announced.current.at + ANNOUNCE_EVERY_MS - Date.now());
    const timer = setTimeout(() => {
      const added = rows.length - announced.current.count;
      announced.current = { count: rows.length, at: Date.now() };
      setAnnouncement(`${added} new: ${rowSummary(last)}`);
    }, wait);
    return () => clearTimeout(timer);
  }, [rows.length, follow]);

  useTitle(job ? `${STATUS_SYMBOL[job.status]} ${job.agentName} · ${job.status}` : undefined);

  useShortcuts({
    '/': () => search.current?.focus(),
    f: () => setFollow(!follow),
    t: toggleTimeMode,
    j: () => goToNeighbourJob(1),
    k: () => goToNeighbourJob(-1),
  });

  const copyLink = () => copy(location.href);
  const toEnd = () => {
    if (targetId) location.hash = href(`/jobs/${jobId}`, { mode });
    setFollow(true);
  };

  if (error)
    return (
      <p class="error page-error" role="alert">
        {error} <a href={href('/jobs')}>Back to the jobs</a>
      </p>
    );
  if (!job) return <p class="muted">Loading…</p>;
  const startMs = startOf(job, transcript.held.pages[0]?.events?.[0]);
  const empty = TERMINAL.includes(job.status)
    ? 'This job has no events.'
    : job.status === 'queued'
      ? 'Not started yet.'
      : 'Waiting for the first event…';
  return (
    <div class="job-page">
      <JobHeader job={job} runners={runners} now={now} count={transcript.held.total} />
      <JobNotice job={job} runners={runners} now={now} />
      <div class="transcript-bar" role="toolbar" aria-label="Transcript">
        {/* biome-ignore lint/a11y/useSemanticElements: a fieldset would bring form styling to two links; role=group names them */}
        <div class="segmented" role="group" aria-label="View">
          <a href={href(`/jobs/${jobId}`)} aria-current={raw ? undefined : 'page'}>
            Readable
          </a>
          <a href={href(`/jobs/${jobId}`, { mode: 'raw' })} aria-current={raw ? 'page' : undefined}>
            Raw
          </a>
        </div>
        <span class="find">
          <input
            ref={search}
            type="search"
            class="search"
            placeholder="Search  ( / )"
            value={typed}
            aria-label="Search the transcript"
            onInput={(e) => setTyped((e.currentTarget as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') goToMatch(matchIndex + (e.shiftKey ? -1 : 1));
              if (e.key === 'Escape') setTyped('');
            }}
          />
          {pattern && (
            <>
              <span class="match-count" role="status">
                {total === 0 ? 'No matches' : `${Math.min(matchIndex, total - 1) + 1} of ${total.toLocaleString('en-US')}`}
              </span>
              {(
                [
                  ['Previous match', '↑', -1],
                  ['Next match', '↓', 1],
                ] as const
              ).map(([name, sign, step]) => (
                <button
                  key={name}
                  type="button"
                  class="icon secondary"
                  aria-label={name}
                  disabled={total === 0}
                  onClick={() => goToMatch(matchIndex + step)}
                >
                  {sign}
                </button>
              ))}
            </>
          )}
        </span>
        <span class="spacer" />
        <button type="button" class="secondary small" onClick={toggleTimeMode} title="Times since the job started, or by the clock ( t )">
          {timeMode === 'clock' ? 'Clock time' : 'Since start'}
        </button>
        <button
          type="button"
          class="secondary small"
          aria-pressed={follow}
          onClick={() => setFollow(!follow)}
          title="Keep the newest line in view ( f )"
        >
          Follow
        </button>
        <button
          type="button"
          class="secondary small"
          onClick={copyLink}
          title="Copy a link to this job, or to the event or line you clicked"
        >
          {targetId ? (targetLine ? 'Copy link to line' : 'Copy link to event') : 'Copy link'}
        </button>
        <a
          class="button secondary small"
          href={`/api/admin/jobs/${encodeURIComponent(jobId)}/events.jsonl`}
          download={`job-${jobId}.jsonl`}
        >
          Download JSONL
        </a>
        {/* A long transcript takes a while to stream in: say how far it got. */}
        {transcript.held.total < job.eventCount && (
          <span class="stream" data-loading>
            loaded {Math.floor((100 * transcript.held.total) / job.eventCount)}% of {job.eventCount.toLocaleString('en-US')} events
          </span>
        )}
        <span class={`stream s-${reachable ? state : 'reconnecting'}`} title="Live updates">
          {reachable ? state : 'offline'}
        </span>
        <span class="sr-only" role="status">
          {copied}
        </span>
      </div>
      <div class="transcript-wrap">
        <TranscriptView
          jobId={jobId}
          rows={rows}
          version={version}
          raw={raw}
          jobRunning={!TERMINAL.includes(job.status)}
          startMs={startMs}
          timeMode={timeMode}
          pattern={pattern}
          current={current}
          openForSearch={openForSearch}
          target={targetId === undefined ? undefined : { eventId: targetId, line: targetLine }}
          reveal={reveal}
          follow={follow}
          onFollow={setFollow}
          dropped={transcript.held.dropped}
          onLoadDropped={loadDropped}
          onFirstShown={(row) => (keepFrom.current = row ? transcript.held.pageIndexOf(row.event) : 0)}
          empty={empty}
          footer={<EndRow job={job} startMs={startMs} timeMode={timeMode} />}
        />
        {!follow && (running || rows.length > 0) && (
          <button type="button" class="to-end" onClick={toEnd}>
            Follow the end ↓
          </button>
        )}
      </div>
      <div class="sr-only" aria-live="polite">
        {announcement}
      </div>
      {copied && <span class="toast">{copied}</span>}
    </div>
  );
}
