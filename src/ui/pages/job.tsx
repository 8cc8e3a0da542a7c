/**
 * One job: its header, Cancel and Run again, and its transcript, live. The transcript shows the latest part of a
 * long job and loads earlier events on demand, follows the end while you are at the end, searches, links to each
 * event, and downloads as JSONL. Agent output is always rendered as text.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { JobDetail, JobRecord, StoredEvent } from '../../control-plane/types.js';
import { api, openStream } from '../api.js';
import { AnsiText } from '../components/ansi-text.js';
import { RUNNING, StatusBadge, TERMINAL } from '../components/status.js';
import { formatCost, formatDuration, formatTime, runSeconds } from '../format.js';
import { href } from '../router.js';
import { INITIAL_WINDOW, LOAD_MORE, rawLine, toEntries, type Entry } from '../transcript.js';
import { useNow, useRunnerName } from '../hooks.js';

/** Within this many pixels of the bottom counts as "at the end": the view follows new events. */
const AT_END_SLACK_PX = 40;

type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended';

/** Everything received so far, kept outside Preact's state so 20,000 events are appended, not copied. */
class Transcript {
  readonly events: StoredEvent[] = [];
  private readonly entries = new Map<StoredEvent, Entry[]>();
  private readonly texts = new Map<StoredEvent, string>();

  entriesOf(event: StoredEvent): Entry[] {
    let entries = this.entries.get(event);
    if (!entries) this.entries.set(event, (entries = toEntries(event)));
    return entries;
  }

  matches(event: StoredEvent, needle: string): boolean {
    let text = this.texts.get(event);
    if (text === undefined) this.texts.set(event, (text = `${event.kind} ${rawLine(event)}`.toLowerCase()));
    return text.includes(needle);
  }
}

function EntryView({ entry }: { entry: Entry }) {
  const cls = `entry e-${entry.type}${entry.error ? ' e-error' : ''}`;
  if (entry.type === 'text' || entry.type === 'meta' || entry.type === 'result') {
    return (
      <div class={cls}>
        <div class="entry-title">{entry.title}</div>
        {entry.body && <div class="entry-body">{entry.body}</div>}
      </div>
    );
  }
  if (entry.type === 'stdout' || entry.type === 'stderr') {
    return (
      <div class={cls}>
        <AnsiText text={entry.body} />
      </div>
    );
  }
  // One line of the body, whitespace folded: `{ "command": "ls" }` reads better than a lone `{`.
  const preview = entry.body.replace(/\s+/g, ' ').trim();
  return (
    <details class={cls}>
      <summary>
        <span class="entry-title">{entry.type === 'tool_call' ? `Tool call: ${entry.title}` : entry.title}</span>{' '}
        <span class="preview">{preview.length > 160 ? `${preview.slice(0, 159)}…` : preview}</span>
      </summary>
      <pre class="entry-body">{entry.body}</pre>
    </details>
  );
}

function EventRow({
  jobId,
  event,
  transcript,
  raw,
  mode,
  target,
}: {
  jobId: string;
  event: StoredEvent;
  transcript: Transcript;
  raw: boolean;
  mode: string | undefined;
  target: boolean;
}) {
  return (
    <div
      class={`ev${target ? ' target' : ''}${event.kind === 'stderr_line' ? ' stderr' : ''}`}
      id={`ev-${event.eventId}`}
      data-event-id={event.eventId}
      data-kind={event.kind}
    >
      <a
        class="ev-link"
        href={href(`/jobs/${jobId}`, { event: event.eventId, mode })}
        title={`Link to this event (${event.kind}, ${event.ts})`}
      >
        #
      </a>
      <div class="ev-body">
        {raw ? (
          <div class="raw-line">
            <AnsiText text={rawLine(event)} />
          </div>
        ) : (
          transcript.entriesOf(event).map((entry) => <EntryView entry={entry} />)
        )}
      </div>
    </div>
  );
}

function download(jobId: string, events: StoredEvent[]): void {
  const blob = new Blob([`${events.map((event) => JSON.stringify(event)).join('\n')}\n`], { type: 'application/x-ndjson' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `job-${jobId}.jsonl`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Field({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <div class="field">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function JobHeader({ job, count }: { job: JobDetail; count: number }) {
  const runnerName = useRunnerName();
  const now = useNow(RUNNING.includes(job.status));
  const [message, setMessage] = useState('');
  const cancel = () => api('POST', `/api/admin/jobs/${job.jobId}/cancel`).catch((err: Error) => setMessage(err.message));
  const again = async () => {
    try {
      const next = await api<JobRecord>('POST', `/api/admin/jobs/${job.jobId}/run-again`);
      location.hash = href(`/jobs/${next.jobId}`);
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  return (
    <section class="card job-header">
      <div class="toolbar">
        <h1>{job.agentName}</h1>
        <StatusBadge status={job.status} />
        <span class="spacer" />
        {!TERMINAL.includes(job.status) && (
          <button type="button" class="danger" onClick={cancel}>
            Cancel
          </button>
        )}
        <button type="button" onClick={again} title="Queue a new job with the same prompt, agent, session and settings">
          Run again
        </button>
      </div>
      {message && (
        <p class="error" role="alert">
          {message}
        </p>
      )}
      {job.errorMessage && <p class="error job-error">{job.errorMessage}</p>}
      <dl class="fields">
        <Field label="Job">{job.jobId}</Field>
        <Field label="Company">{job.companyId}</Field>
        <Field label="Adapter">{job.adapterType ?? 'claude_local'}</Field>
        <Field label="Queued">{formatTime(job.createdAt)}</Field>
        <Field label="Started">{formatTime(job.claimedAt)}</Field>
        <Field label="Finished">{formatTime(job.completedAt)}</Field>
        <Field label="Run time">{formatDuration(runSeconds(job, now))}</Field>
        <Field label="Exit">{job.signal ? `signal ${job.signal}` : (job.exitCode ?? '—')}</Field>
        <Field label="Cost">{formatCost(job.costMicros)}</Field>
        <Field label="Session">{job.resultSessionId ?? job.sessionId ?? '—'}</Field>
        <Field label="CLI version">{job.cliVersion ?? '—'}</Field>
        <Field label="Runner">{runnerName(job.claimedByTokenId)}</Field>
        <Field label="Attempt">{job.attempt}</Field>
        {job.usageLimitedAt && (
          <Field label="Usage limit">
            {job.usageLimitResetsAt ? `resets ${formatTime(job.usageLimitResetsAt)}` : 'no reset time given'}
            {` (hit ${job.usageLimitCount}×, last ${formatTime(job.usageLimitedAt)})`}
          </Field>
        )}
        <Field label="Events">{count}</Field>
      </dl>
      <details class="prompt">
        <summary>Prompt</summary>
        <pre>{job.prompt}</pre>
      </details>
      {typeof job.runtimeConfig.instructionsFileContent === 'string' && (
        <details class="prompt">
          <summary>Instructions</summary>
          <pre>{decodedInstructions(job.runtimeConfig.instructionsFileContent)}</pre>
        </details>
      )}
    </section>
  );
}

/** The instructions file as text: the wire carries its bytes in base64 (bytes that are not UTF-8 show as �). */
function decodedInstructions(base64: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(base64), (char) => char.charCodeAt(0)));
  } catch {
    return `(not valid base64) ${base64}`;
  }
}

export function JobPage({ jobId, query }: { jobId: string; query: URLSearchParams }) {
  const mode = query.get('mode') === 'raw' ? 'raw' : undefined;
  const targetId = query.get('event') ?? undefined;
  const [job, setJob] = useState<JobDetail>();
  const [error, setError] = useState('');
  const [stream, setStream] = useState<StreamState>('connecting');
  const [version, setVersion] = useState(0);
  const [search, setSearch] = useState('');
  const [windowSize, setWindowSize] = useState(INITIAL_WINDOW);
  const [follow, setFollow] = useState(targetId === undefined);
  const transcript = useMemo(() => new Transcript(), [jobId]);
  const box = useRef<HTMLDivElement>(null);
  const keepFromBottom = useRef<number | undefined>(undefined);

  useEffect(() => {
    setJob(undefined);
    setError('');
    const source = openStream(`/api/admin/live/jobs/${encodeURIComponent(jobId)}`, {
      job: (data) => setJob(data as JobDetail),
      events: (data) => {
        transcript.events.push(...(data as StoredEvent[]));
        setVersion((v) => v + 1);
      },
      end: () => {
        source.close();
        setStream('ended');
      },
    });
    source.addEventListener('open', () => setStream('live'));
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        setStream('ended');
        api('GET', `/api/admin/jobs/${encodeURIComponent(jobId)}`).catch((err: Error) => setError(err.message));
      } else setStream('reconnecting');
    });
    return () => source.close();
  }, [jobId, transcript]);

  const events = transcript.events;
  const needle = search.trim().toLowerCase();
  const matching = useMemo(
    () => (needle ? events.filter((event) => transcript.matches(event, needle)) : events),
    [needle, version, transcript],
  );
  const targetIndex = targetId === undefined ? -1 : matching.findIndex((event) => event.eventId === targetId);
  // A link to an event the search hides: show everything, so the link leads somewhere.
  const hiddenBySearch = targetIndex < 0 && needle !== '' && targetId !== undefined && events.some((event) => event.eventId === targetId);
  useEffect(() => {
    if (hiddenBySearch) setSearch('');
  }, [hiddenBySearch]);
  const size = targetIndex >= 0 ? Math.max(windowSize, matching.length - targetIndex) : windowSize;
  const shown = matching.length > size ? matching.slice(matching.length - size) : matching;
  const hidden = matching.length - shown.length;

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    if (keepFromBottom.current !== undefined) {
      el.scrollTop = el.scrollHeight - keepFromBottom.current; // "load earlier" keeps what you were reading in place
      keepFromBottom.current = undefined;
    } else if (follow) el.scrollTop = el.scrollHeight;
  }, [version, mode, needle, size, follow]);

  useLayoutEffect(() => {
    if (targetIndex < 0) return;
    setFollow(false);
    document.getElementById(`ev-${targetId}`)?.scrollIntoView({ block: 'center' });
  }, [targetId, targetIndex >= 0]);

  const onScroll = () => {
    const el = box.current!;
    setFollow(el.scrollHeight - el.scrollTop - el.clientHeight < AT_END_SLACK_PX);
  };
  const loadEarlier = () => {
    const el = box.current!;
    keepFromBottom.current = el.scrollHeight - el.scrollTop;
    setWindowSize(size + LOAD_MORE);
  };
  const toEnd = () => {
    if (targetId) location.hash = href(`/jobs/${jobId}`, { mode });
    setFollow(true);
  };

  if (error)
    return (
      <p class="error" role="alert">
        {error} <a href={href('/jobs')}>Back to jobs</a>
      </p>
    );
  if (!job) return <p class="muted">Loading…</p>;
  return (
    <>
      <JobHeader job={job} count={events.length} />
      <section class="card transcript-card">
        <div class="toolbar">
          {/* biome-ignore lint/a11y/useSemanticElements: a fieldset would bring form styling to two links; role=group names them */}
          <div class="segmented" role="group" aria-label="Transcript mode">
            <a href={href(`/jobs/${jobId}`)} aria-current={mode ? undefined : 'page'}>
              Readable
            </a>
            <a href={href(`/jobs/${jobId}`, { mode: 'raw' })} aria-current={mode ? 'page' : undefined}>
              Raw
            </a>
          </div>
          <input
            type="search"
            class="search"
            placeholder="Search the transcript"
            value={search}
            onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)}
            aria-label="Search the transcript"
          />
          {needle && (
            <span class="muted">
              {matching.length} match{matching.length === 1 ? '' : 'es'}
            </span>
          )}
          <span class="spacer" />
          <span class={`stream s-${stream}`} title="Live updates">
            {stream}
          </span>
          <button type="button" onClick={() => download(jobId, events)} disabled={events.length === 0}>
            Download JSONL
          </button>
        </div>
        <div class={`transcript${mode ? ' raw' : ''}`} ref={box} onScroll={onScroll} data-follow={follow ? 'yes' : 'no'}>
          {hidden > 0 && (
            <button type="button" class="load-earlier" onClick={loadEarlier}>
              Load earlier ({hidden} more)
            </button>
          )}
          {shown.length === 0 && (
            <p class="muted">
              {needle ? 'Nothing matches.' : TERMINAL.includes(job.status) ? 'This job has no events.' : 'Waiting for the first event…'}
            </p>
          )}
          {shown.map((event) => (
            <EventRow
              key={event.eventId}
              jobId={jobId}
              event={event}
              transcript={transcript}
              raw={mode === 'raw'}
              mode={mode}
              target={event.eventId === targetId}
            />
          ))}
        </div>
        {!follow && (
          <button type="button" class="to-end" onClick={toEnd}>
            Follow the end ↓
          </button>
        )}
      </section>
    </>
  );
}
