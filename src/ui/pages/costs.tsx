/** Per company: jobs by status, and the sums of cost and run time (one query on the server). */
import type { CompanyStats } from '../../control-plane/dashboard/queries.js';
import { JOB_STATUSES } from '../../control-plane/types.js';
import { type Column, DataTable } from '../components/table.js';
import { formatCost, formatDuration } from '../format.js';
import { usePolled } from '../hooks.js';
import { href } from '../router.js';

export function CostsPage() {
  const { answer, error } = usePolled<{ companies: CompanyStats[] }>('/api/admin/stats');
  const companies = answer?.companies;
  const total = (pick: (c: CompanyStats) => number) => (companies ?? []).reduce((sum, c) => sum + pick(c), 0);
  const columns: Column<CompanyStats>[] = [
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
  return (
    <section>
      <h1>Costs</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <DataTable
        rows={companies}
        empty="No jobs yet."
        class="costs"
        columns={columns}
        rowProps={(c) => ({ key: c.companyId, 'data-company': c.companyId })}
        footer={(companies?.length ?? 0) > 1}
      />
    </section>
  );
}
