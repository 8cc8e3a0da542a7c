/**
 * What the agents cost, per day over a range the reader picks (the last 7, 30 or 90 days, or from one date to
 * another), with a bar per day, and per company over the same range: jobs by status, cost and run time.
 */
import type { CostDay, CostReport } from '../../control-plane/dashboard/costs.js';
import type { CompanyStats } from '../../control-plane/dashboard/queries.js';
import { JOB_STATUSES } from '../../control-plane/types.js';
import { type Column, DataTable } from '../components/table.js';
import { exactCost, formatCost, formatDuration, plural } from '../format.js';
import { usePolled, useTitle } from '../hooks.js';
import { href, navigate } from '../router.js';

const RANGES: Array<[string, string]> = [
  ['7', 'Last 7 days'],
  ['30', 'Last 30 days'],
  ['90', 'Last 90 days'],
];
const DEFAULT_DAYS = '30';

/** YYYY-MM-DD of a date in the browser's time zone. */
function isoDay(date: Date): string {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
}

/** The range the URL asks for: `days=N` back from today, or `from` and `to`. */
function rangeOf(query: URLSearchParams): { from: string; to: string; days: string } {
  const from = query.get('from');
  const to = query.get('to');
  if (from && to) return { from, to, days: '' };
  const days = RANGES.find(([d]) => d === query.get('days'))?.[0] ?? DEFAULT_DAYS;
  const start = new Date();
  start.setDate(start.getDate() - Number(days) + 1);
  return { from: isoDay(start), to: isoDay(new Date()), days };
}

export function CostsPage({ query }: { query: URLSearchParams }) {
  useTitle('Costs');
  const range = rangeOf(query);
  const params = new URLSearchParams({ from: range.from, to: range.to, tzOffsetMin: String(-new Date().getTimezoneOffset()) });
  const { answer, error } = usePolled<CostReport>(`/api/admin/costs?${params}`);
  const companies = answer?.companies;
  const days = answer?.days;
  const most = Math.max(1, ...(days ?? []).map((d) => d.costMicros));
  const total = (pick: (c: CompanyStats) => number) => (companies ?? []).reduce((sum, c) => sum + pick(c), 0);
  const dayColumns: Column<CostDay>[] = [
    {
      label: 'Day',
      cell: (d) => new Date(`${d.day}T12:00:00`).toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric' }),
    },
    { label: 'Jobs', class: 'num jobs-n', cell: (d) => d.jobs.toLocaleString('en-US') },
    { label: 'Failed', class: 'num', cell: (d) => (d.failed > 0 ? <span class="error">{d.failed}</span> : 0) },
    { label: 'Cost', class: 'num', cell: (d) => formatCost(d.costMicros), title: (d) => exactCost(d.costMicros) ?? '' },
    { label: 'Run time', class: 'num wide-only', cell: (d) => formatDuration(d.elapsedSec) },
    {
      label: 'Share',
      class: 'bar-cell',
      cell: (d) => (
        <span class="bar" aria-hidden="true">
          <span style={{ width: `${(100 * d.costMicros) / most}%` }} />
        </span>
      ),
    },
  ];
  const companyColumns: Column<CompanyStats>[] = [
    { label: 'Company', cell: (c) => <a href={href('/jobs', { company: c.companyId })}>{c.companyId}</a>, footer: 'All' },
    ...JOB_STATUSES.map(
      (s): Column<CompanyStats> => ({
        label: s,
        class: 'num',
        cell: (c) => (c.counts[s] > 0 ? <a href={href('/jobs', { company: c.companyId, status: s })}>{c.counts[s]}</a> : 0),
        footer: total((c) => c.counts[s]),
      }),
    ),
    { label: 'Cost', class: 'num', cell: (c) => formatCost(c.costMicros), footer: formatCost(total((c) => c.costMicros)) },
    { label: 'Run time', class: 'num', cell: (c) => formatDuration(c.elapsedSec), footer: formatDuration(total((c) => c.elapsedSec)) },
  ];
  const setRange = (next: Record<string, string | undefined>) => navigate(href('/costs', next));
  const sum = (days ?? []).reduce((acc, d) => ({ cost: acc.cost + d.costMicros, jobs: acc.jobs + d.jobs }), { cost: 0, jobs: 0 });
  return (
    <section>
      <div class="toolbar">
        <h1>Costs</h1>
        <label>
          Range
          <select value={range.days} onChange={(e) => setRange({ days: (e.currentTarget as HTMLSelectElement).value || DEFAULT_DAYS })}>
            {RANGES.map(([d, text]) => (
              <option key={d} value={d}>
                {text}
              </option>
            ))}
            {range.days === '' && <option value="">From – to</option>}
          </select>
        </label>
        <label>
          From
          <input
            type="date"
            value={range.from}
            max={range.to}
            onChange={(e) => setRange({ from: (e.currentTarget as HTMLInputElement).value, to: range.to })}
          />
        </label>
        <label>
          To
          <input
            type="date"
            value={range.to}
            min={range.from}
            onChange={(e) => setRange({ from: range.from, to: (e.currentTarget as HTMLInputElement).value })}
          />
        </label>
        {days && (
          <p class="total" role="status">
            {formatCost(sum.cost)} over {plural(sum.jobs, 'job')}
          </p>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <h2>Per day</h2>
      <DataTable
        rows={days && [...days].reverse()}
        empty="No days in this range."
        class="days"
        caption="Cost per day, newest first"
        columns={dayColumns}
        rowProps={(d) => ({ key: d.day, 'data-day': d.day, class: d.jobs === 0 ? 'quiet' : undefined })}
      />
      <h2>Per company</h2>
      <DataTable
        rows={companies}
        empty="No jobs in this range."
        class="costs"
        caption="Jobs, cost and run time per company"
        columns={companyColumns}
        rowProps={(c) => ({ key: c.companyId, 'data-company': c.companyId })}
        footer={(companies?.length ?? 0) > 1}
      />
    </section>
  );
}
