/** Jobs, newest first, live: filters in the URL, cancel per row, stop all running, and a form to queue one. */
import { useEffect, useState } from 'preact/hooks';
import type { JobRecord, JobStatus } from '../../control-plane/types.js';
import { api, openStream } from '../api.js';
import { RUNNING, StatusBadge, TERMINAL } from '../components/status.js';
import { type Column, DataTable } from '../components/table.js';
import { formatCost, formatDuration, formatTime, runSeconds } from '../format.js';
import { useNow, useRunnerName } from '../hooks.js';
import { href } from '../router.js';

const STATUSES: JobStatus[] = ['queued', 'claimed', 'streaming', 'completed', 'failed', 'cancelled'];
const ADAPTERS = ['claude_local', 'codex_local', 'gemini_local', 'opencode_local', 'pi_local', 'cursor_local', 'process'];
const LIST_LIMIT = 200;

function CancelButton({ job }: { job: JobRecord }) {
  const [error, setError] = useState('');
  if (TERMINAL.includes(job.status)) return null;
  return (
    <>
      <button
        type="button"
        class="small danger"
        onClick={() => api('POST', `/api/admin/jobs/${job.jobId}/cancel`).catch((err: Error) => setError(err.message))}
      >
        Cancel
      </button>
      {error && <span class="error">{error}</span>}
    </>
  );
}

function StopAllRunning({ count, companyId }: { count: number; companyId: string | undefined }) {
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState('');
  const stop = async () => {
    setConfirming(false);
    try {
      const { cancelled } = await api<{ cancelled: string[] }>(
        'POST',
        `/api/admin/jobs/stop-running${companyId ? `?companyId=${encodeURIComponent(companyId)}` : ''}`,
      );
      setMessage(`Cancelled ${cancelled.length} running job${cancelled.length === 1 ? '' : 's'}.`);
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  return (
    <span class="stop-all">
      {confirming ? (
        <>
          <button type="button" class="danger" onClick={stop}>
            Yes, stop {count} running
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Keep them
          </button>
        </>
      ) : (
        <button type="button" class="danger" disabled={count === 0} onClick={() => setConfirming(true)}>
          Stop all running
        </button>
      )}
      {message && <span class="muted"> {message}</span>}
    </span>
  );
}

function EnqueueForm({ companyId }: { companyId: string | undefined }) {
  const [result, setResult] = useState<{ ok: boolean; text: string; jobId?: string }>();
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? '').trim();
    const body: Record<string, unknown> = {
      companyId: text('companyId'),
      agentName: text('agentName'),
      prompt: text('prompt'),
      adapterType: text('adapterType'),
    };
    if (text('model')) body.model = text('model');
    if (text('timeoutSec')) body.timeoutSec = Number(text('timeoutSec'));
    try {
      const job = await api<JobRecord>('POST', '/api/admin/jobs', body);
      setResult({ ok: true, text: `Queued job ${job.jobId.slice(0, 8)}.`, jobId: job.jobId });
      (form.elements.namedItem('prompt') as HTMLTextAreaElement).value = '';
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <details class="card enqueue">
      <summary>Queue a job</summary>
      <form onSubmit={submit} class="grid-form">
        <label>
          Company
          <input key={companyId ?? ''} name="companyId" required defaultValue={companyId ?? ''} />
        </label>
        <label>
          Agent name
          <input name="agentName" required placeholder="e.g. Sarah" />
        </label>
        <label>
          Adapter
          <select name="adapterType">
            {ADAPTERS.map((a) => (
              <option value={a}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          Model
          <input name="model" placeholder="optional" />
        </label>
        <label>
          Timeout (s)
          <input name="timeoutSec" type="number" min="1" placeholder="optional" />
        </label>
        <label class="wide">
          Prompt
          <textarea name="prompt" required rows={3} />
        </label>
        <div class="wide">
          <button type="submit">Queue</button>{' '}
          {result && (
            <span class={result.ok ? 'ok' : 'error'} role="status">
              {result.text} {result.jobId && <a href={href(`/jobs/${result.jobId}`)}>Open it</a>}
            </span>
          )}
        </div>
      </form>
    </details>
  );
}

export function JobsPage({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? undefined;
  const company = query.get('company') ?? undefined;
  const [jobs, setJobs] = useState<JobRecord[]>();
  const [error, setError] = useState('');
  const runnerName = useRunnerName();
  useEffect(() => {
    const params = new URLSearchParams({ limit: String(LIST_LIMIT) });
    if (status) params.set('status', status);
    if (company) params.set('companyId', company);
    setJobs(undefined);
    const source = openStream(`/api/admin/live/jobs?${params}`, {
      jobs: (data) => {
        setJobs((data as { jobs: JobRecord[] }).jobs);
        setError('');
      },
    });
    source.addEventListener('error', () => setError('Live updates interrupted; reconnecting…'));
    return () => source.close();
  }, [status, company]);
  const running = (jobs ?? []).filter((job) => RUNNING.includes(job.status));
  const now = useNow(running.length > 0);
  const setFilter = (name: string, value: string) => {
    location.hash = href('/jobs', { status, company, [name]: value || undefined });
  };
  const columns: Column<JobRecord>[] = [
    { label: 'Status', cell: (job) => <StatusBadge status={job.status} /> },
    { label: 'Agent', cell: (job) => <a href={href(`/jobs/${job.jobId}`)}>{job.agentName}</a> },
    { label: 'Company', cell: (job) => job.companyId },
    { label: 'Adapter', cell: (job) => job.adapterType ?? 'claude_local' },
    { label: 'Cost', cell: (job) => formatCost(job.costMicros) },
    { label: 'Run time', cell: (job) => formatDuration(runSeconds(job, now)) },
    { label: 'Attempt', cell: (job) => job.attempt },
    {
      label: 'Runner',
      cell: (job) => runnerName(job.claimedByTokenId),
    },
    { label: 'Queued', cell: (job) => formatTime(job.createdAt) },
    { class: 'actions', cell: (job) => <CancelButton job={job} /> },
  ];
  return (
    <section>
      <div class="toolbar">
        <h1>Jobs</h1>
        <label>
          Status
          <select name="status" value={status ?? ''} onChange={(e) => setFilter('status', (e.currentTarget as HTMLSelectElement).value)}>
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setFilter('company', String(new FormData(e.currentTarget as HTMLFormElement).get('company') ?? '').trim());
          }}
        >
          {/* Uncontrolled (live updates re-render the page while someone types); keyed so a URL change resets it. */}
          <label>
            Company
            <input key={company ?? ''} name="company" defaultValue={company ?? ''} placeholder="all" size={12} />
          </label>
        </form>
        <span class="spacer" />
        <StopAllRunning count={running.length} companyId={company} />
      </div>
      {error && (
        <p class="muted" role="status">
          {error}
        </p>
      )}
      <EnqueueForm companyId={company} />
      <DataTable
        rows={jobs}
        empty={`No jobs${status || company ? ' match these filters' : ' yet'}.`}
        class="jobs"
        columns={columns}
        rowProps={(job) => ({ key: job.jobId, 'data-job-id': job.jobId })}
      />
    </section>
  );
}
