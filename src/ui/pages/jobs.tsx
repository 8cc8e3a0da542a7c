/**
 * Jobs, newest first, a page at a time however many there are: filters (status, company, agent, runner, adapter,
 * time) and a search by job id or prompt, all in the URL; live (the server sends what changed on the page); a
 * failed row says why; times read "3 min ago" with the run time beside. Cancel and "stop all running" ask first.
 * Keys: `/` search, `j` / `k` move down and up the rows, `o` opens one.
 */
import { useEffect, useId, useState } from 'preact/hooks';
import type { JobFacets, JobListChanges, JobListPage, JobSummary } from '../../control-plane/dashboard/job-list.js';
import type { JobRecord } from '../../control-plane/types.js';
import { api, openStream } from '../api.js';
import { ConfirmAction, Submit } from '../components/actions.js';
import { StatusBadge, TERMINAL } from '../components/status.js';
import { type Column, DataTable } from '../components/table.js';
import { Ago } from '../components/time.js';
import { exactCost, formatCost, formatDuration, plural, runSeconds } from '../format.js';
import { runnerName, useMedia, useNow, usePolled, useRunners, useShortcuts, useTitle, WIDE, type Runner } from '../hooks.js';
import { rememberJobList } from '../job-list-memory.js';
import { href, navigate } from '../router.js';

export const PAGE_SIZE = 50;
const STATUS_CHOICES: Array<[string, string]> = [
  ['', 'any'],
  ['queued', 'queued'],
  ['claimed,streaming', 'running'],
  ['completed', 'completed'],
  ['failed', 'failed'],
  ['cancelled', 'cancelled'],
];
const ADAPTERS = ['claude_local', 'codex_local', 'gemini_local', 'opencode_local', 'pi_local', 'cursor_local', 'process'];
const RANGES: Array<[string, string]> = [
  ['', 'any time'],
  ['1h', 'last hour'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
  ['30d', 'last 30 days'],
];
/** The URL's filter parameters, and the list API's name for each. */
const FILTERS = {
  status: 'status',
  company: 'companyId',
  agent: 'agentName',
  runner: 'tokenId',
  adapter: 'adapterType',
  range: 'range',
  q: 'q',
} as const;
type FilterName = keyof typeof FILTERS;
const SEARCH_DEBOUNCE_MS = 300;

/** The list API's query for the URL's filters and cursor. */
function listQuery(query: URLSearchParams): URLSearchParams {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const [name, apiName] of Object.entries(FILTERS)) {
    const value = query.get(name);
    if (value) params.set(apiName, value);
  }
  for (const cursor of ['before', 'after', 'oldest']) {
    const value = query.get(cursor);
    if (value) params.set(cursor, value);
  }
  return params;
}

/** Applies the changes the stream sent to the rows held. */
function applyChanges(rows: JobSummary[], changes: JobListChanges): JobSummary[] {
  const byId = new Map(rows.map((row) => [row.jobId, row]));
  for (const row of changes.upsert) byId.set(row.jobId, row);
  return changes.order.map((id) => byId.get(id)).filter((row): row is JobSummary => row !== undefined);
}

function StopAllRunning({ count, companyId }: { count: number; companyId: string | undefined }) {
  const [message, setMessage] = useState('');
  const stop = async () => {
    const { cancelled } = await api<{ cancelled: string[] }>(
      'POST',
      `/api/admin/jobs/stop-running${companyId ? `?companyId=${encodeURIComponent(companyId)}` : ''}`,
    );
    setMessage(`Cancelled ${plural(cancelled.length, 'running job')}.`);
  };
  return (
    <span class="stop-all">
      <ConfirmAction
        label="Stop all running"
        confirm={`Yes, stop ${count} running`}
        keep="Keep them"
        disabled={count === 0}
        onConfirm={stop}
        title={companyId ? `Cancel every running job of ${companyId}` : 'Cancel every running job'}
      />
      {message && (
        <span class="muted" role="status">
          {message}
        </span>
      )}
    </span>
  );
}

function EnqueueForm({ companyId, companies }: { companyId: string | undefined; companies: string[] }) {
  const [result, setResult] = useState<{ ok: boolean; text: string; jobId?: string }>();
  const submit = async (el: HTMLFormElement) => {
    const data = new FormData(el);
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
      (el.elements.namedItem('prompt') as HTMLTextAreaElement).value = '';
    } catch (err) {
      setResult({ ok: false, text: (err as Error).message });
    }
  };
  return (
    <details class="card enqueue">
      <summary>Queue a job</summary>
      <form
        class="grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit(e.currentTarget as HTMLFormElement);
        }}
      >
        <label>
          Company
          <input key={companyId ?? ''} name="companyId" required defaultValue={companyId ?? ''} list="fos-companies" />
        </label>
        <datalist id="fos-companies">
          {companies.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
        <label>
          Agent name
          <input name="agentName" required placeholder="e.g. Sarah" />
        </label>
        <label>
          Adapter
          <select name="adapterType">
            {ADAPTERS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
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
          <Submit>Queue</Submit>{' '}
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

function Select({
  label,
  value,
  choices,
  onChange,
}: {
  label: string;
  value: string;
  choices: Array<[string, string]>;
  onChange: (v: string) => void;
}) {
  // A value the choices do not hold (a link from elsewhere) is still shown, so the filter in force is never hidden.
  const all = choices.some(([v]) => v === value) ? choices : [...choices, [value, value] as [string, string]];
  const id = useId();
  // The label beside the select, not around it: a select inside its label would be named by its choice too.
  return (
    <span class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}>
        {all.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </span>
  );
}

function Filters({ query, facets, runners }: { query: URLSearchParams; facets: JobFacets | undefined; runners: Runner[] | undefined }) {
  const value = (name: FilterName) => query.get(name) ?? '';
  const [typed, setTyped] = useState(value('q'));
  const set = (changes: Partial<Record<FilterName, string>>, replace = false) => {
    const next: Record<string, string | undefined> = {};
    for (const name of Object.keys(FILTERS) as FilterName[]) next[name] = changes[name] ?? value(name);
    // A new filter starts at the newest page.
    navigate(href('/jobs', next), replace);
  };
  useEffect(() => setTyped(value('q')), [value('q')]);
  useEffect(() => {
    if (typed.trim() === value('q')) return;
    const timer = setTimeout(() => set({ q: typed.trim() }, true), SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [typed]);
  const active = (Object.keys(FILTERS) as FilterName[]).filter((name) => name !== 'q' && value(name) !== '').length;
  const any = active > 0 || value('q') !== '';
  const option = (v: string): [string, string] => [v, v];
  // On a wide screen the filters are all in view; on a phone they fold under one line that counts those in force.
  const wide = useMedia(WIDE);
  const [unfolded, setUnfolded] = useState(false);
  const open = wide || unfolded;
  return (
    <search class="filters" aria-label="Filter the jobs">
      <label class="q">
        Search
        <input
          type="search"
          placeholder="Job id or prompt  ( / )"
          value={typed}
          onInput={(e) => setTyped((e.currentTarget as HTMLInputElement).value)}
          data-shortcut="/"
        />
      </label>
      {!wide && (
        <button type="button" class="secondary small filter-toggle" aria-expanded={open} onClick={() => setUnfolded(!unfolded)}>
          Filters{active > 0 ? ` (${active})` : ''}
        </button>
      )}
      {open && <Select label="Status" value={value('status')} choices={STATUS_CHOICES} onChange={(v) => set({ status: v })} />}
      {open && (
        <>
          <Select
            label="Company"
            value={value('company')}
            choices={[['', 'all'], ...(facets?.companies ?? []).map(option)]}
            onChange={(v) => set({ company: v })}
          />
          <Select
            label="Agent"
            value={value('agent')}
            choices={[['', 'all'], ...(facets?.agents ?? []).map(option)]}
            onChange={(v) => set({ agent: v })}
          />
          <Select
            label="Runner"
            value={value('runner')}
            choices={[['', 'all'], ...(runners ?? []).map((r): [string, string] => [r.tokenId, `${r.name || r.preview} (${r.companyId})`])]}
            onChange={(v) => set({ runner: v })}
          />
          <Select
            label="Adapter"
            value={value('adapter')}
            choices={[['', 'all'], ...ADAPTERS.map(option)]}
            onChange={(v) => set({ adapter: v })}
          />
          <Select label="Queued" value={value('range')} choices={RANGES} onChange={(v) => set({ range: v })} />
        </>
      )}
      {any && (
        <a class="clear" href={href('/jobs')}>
          Clear filters
        </a>
      )}
    </search>
  );
}

function Pager({ query, page }: { query: URLSearchParams; page: JobListPage }) {
  const filters = Object.fromEntries((Object.keys(FILTERS) as FilterName[]).map((name) => [name, query.get(name) ?? undefined]));
  const first = page.jobs[0];
  const last = page.jobs.at(-1);
  const from = page.offset + 1;
  const to = page.offset + page.jobs.length;
  return (
    <nav class="pager" aria-label="Pages of jobs">
      <span class="count" role="status">
        {page.total === 0 ? 'No jobs' : `${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')} of ${plural(page.total, 'job')}`}
      </span>
      {page.hasNewer && first ? (
        <>
          <a href={href('/jobs', filters)}>« Newest</a>
          <a href={href('/jobs', { ...filters, after: first.jobId })} rel="prev">
            ‹ Newer
          </a>
        </>
      ) : null}
      {page.hasOlder && last ? (
        <>
          <a href={href('/jobs', { ...filters, before: last.jobId })} rel="next">
            Older ›
          </a>
          <a href={href('/jobs', { ...filters, oldest: '1' })}>Oldest »</a>
        </>
      ) : null}
    </nav>
  );
}

export function JobsPage({ query }: { query: URLSearchParams }) {
  const [page, setPage] = useState<JobListPage>();
  const [error, setError] = useState('');
  const [selected, setSelected] = useState(-1);
  const runners = useRunners();
  const facets = usePolled<JobFacets>('/api/admin/jobs/facets').answer;
  const params = listQuery(query).toString();
  const company = query.get('company') ?? undefined;
  useTitle('Jobs');

  useEffect(() => {
    setPage(undefined);
    setError('');
    setSelected(-1);
    const source = openStream(`/api/admin/live/jobs?${params}`, {
      page: (data) => {
        const next = data as JobListPage;
        // A "newer" page that reached the newest is the first page: show it as one, which new jobs join live.
        if ((query.get('after') || query.get('oldest')) && !next.hasNewer) {
          const url = new URLSearchParams(query);
          url.delete('after');
          url.delete('oldest');
          navigate(href('/jobs', Object.fromEntries(url)), true);
          return;
        }
        setPage(next);
        setError('');
      },
      changes: (data) => {
        const changes = data as JobListChanges;
        setPage((before) => before && { ...changes, jobs: applyChanges(before.jobs, changes) });
      },
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED)
        api('GET', `/api/admin/jobs/page?${params}`).catch((err: Error) => setError(err.message));
    });
    return () => source.close();
  }, [params]);

  const rows = page?.jobs;
  useEffect(() => {
    if (rows) rememberJobList(rows.map((row) => row.jobId));
  }, [rows]);
  const now = useNow((rows ?? []).some((job) => !TERMINAL.includes(job.status)));
  useShortcuts({
    '/': () => document.querySelector<HTMLInputElement>('[data-shortcut="/"]')?.focus(),
    j: () => setSelected(Math.min((rows?.length ?? 0) - 1, selected + 1)),
    k: () => setSelected(Math.max(0, selected - 1)),
    o: () => {
      const row = rows?.[selected];
      if (row) location.hash = href(`/jobs/${row.jobId}`);
    },
  });
  useEffect(() => {
    if (selected >= 0) document.querySelector(`tr[data-job-id="${rows?.[selected]?.jobId}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [selected]);

  const runTime = (job: JobSummary) => {
    const sec = runSeconds(job, now);
    return sec === null ? '' : formatDuration(sec);
  };
  const columns: Column<JobSummary>[] = [
    { label: 'Status', class: 'status', cell: (job) => <StatusBadge status={job.status} /> },
    {
      label: 'Job',
      class: 'job',
      cell: (job) => (
        <>
          <a href={href(`/jobs/${job.jobId}`)}>{job.agentName}</a>
          {job.errorLine ? (
            <div class="why error" title={job.errorLine}>
              {job.errorLine}
            </div>
          ) : (
            <div class="why muted" title={job.promptPreview}>
              {job.promptPreview}
            </div>
          )}
          {/* What the other columns say, on one line where there is no room for them (a phone). */}
          <div class="narrow-only muted">
            {[
              job.companyId,
              job.adapterType ?? 'claude_local',
              job.claimedByTokenId && runnerName(runners, job.claimedByTokenId),
              runTime(job),
              job.costMicros !== null && formatCost(job.costMicros),
            ]
              .filter(Boolean)
              .join(' · ')}
          </div>
        </>
      ),
    },
    { label: 'Company', class: 'meta', cell: (job) => job.companyId },
    { label: 'Adapter', class: 'meta', cell: (job) => job.adapterType ?? 'claude_local' },
    { label: 'Runner', class: 'meta', cell: (job) => runnerName(runners, job.claimedByTokenId) },
    { label: 'Queued', class: 'when', cell: (job) => <Ago iso={job.createdAt} now={now} /> },
    { label: 'Run time', class: 'meta num', cell: (job) => runTime(job) || '—' },
    { label: 'Cost', class: 'meta num', cell: (job) => formatCost(job.costMicros), title: (job) => exactCost(job.costMicros) ?? '' },
    {
      label: 'Actions',
      class: 'actions',
      cell: (job) =>
        TERMINAL.includes(job.status) ? null : (
          <ConfirmAction
            class="small danger"
            label="Cancel"
            confirm="Yes, cancel"
            keep="Keep"
            onConfirm={() => api('POST', `/api/admin/jobs/${job.jobId}/cancel`)}
          />
        ),
    },
  ];
  const filtered = (Object.keys(FILTERS) as FilterName[]).some((name) => query.get(name));
  return (
    <section class="jobs-page">
      <div class="toolbar">
        <h1>Jobs</h1>
        <span class="spacer" />
        <StopAllRunning count={page?.running ?? 0} companyId={company} />
      </div>
      <Filters query={query} facets={facets} runners={runners} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <EnqueueForm companyId={company} companies={facets?.companies ?? []} />
      {page && <Pager query={query} page={page} />}
      <DataTable
        rows={rows}
        empty={`No jobs${filtered ? ' match these filters' : ' yet'}.`}
        class="jobs"
        caption="Jobs, newest first"
        columns={columns}
        rowProps={(job) => ({
          key: job.jobId,
          'data-job-id': job.jobId,
          'data-status': job.status,
          class: rows?.[selected]?.jobId === job.jobId ? 'selected' : undefined,
        })}
      />
      {page && page.jobs.length > 10 && <Pager query={query} page={page} />}
    </section>
  );
}
