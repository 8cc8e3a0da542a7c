/** Per company: jobs by status, and the sums of cost and run time (one query on the server). */
import { useEffect, useState } from 'preact/hooks';
import type { CompanyStats } from '../../control-plane/dashboard/queries.js';
import { JOB_STATUSES } from '../../control-plane/types.js';
import { api } from '../api.js';
import { formatCost, formatDuration } from '../format.js';
import { href } from '../router.js';

const REFRESH_MS = 5000;

export function CostsPage() {
  const [companies, setCompanies] = useState<CompanyStats[]>();
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    api<{ companies: CompanyStats[] }>('GET', '/api/admin/stats').then(
      (body) => setCompanies(body.companies),
      (err: Error) => setError(err.message),
    );
    const timer = setTimeout(() => setTick((t) => t + 1), REFRESH_MS);
    return () => clearTimeout(timer);
  }, [tick]);
  const total = (pick: (c: CompanyStats) => number) => (companies ?? []).reduce((sum, c) => sum + pick(c), 0);
  return (
    <section>
      <h1>Costs</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {companies === undefined ? (
        <p class="muted">Loading…</p>
      ) : companies.length === 0 ? (
        <p class="muted">No jobs yet.</p>
      ) : (
        <table class="costs">
          <thead>
            <tr>
              <th>Company</th>
              {JOB_STATUSES.map((s) => (
                <th class="num">{s}</th>
              ))}
              <th class="num">Cost</th>
              <th class="num">Run time</th>
            </tr>
          </thead>
          <tbody>
            {companies.map((c) => (
              <tr key={c.companyId} data-company={c.companyId}>
                <td data-label="Company">
                  <a href={href('/jobs', { company: c.companyId })}>{c.companyId}</a>
                </td>
                {JOB_STATUSES.map((s) => (
                  <td class="num" data-label={s}>
                    {c.counts[s] > 0 ? <a href={href('/jobs', { company: c.companyId, status: s })}>{c.counts[s]}</a> : 0}
                  </td>
                ))}
                <td class="num" data-label="Cost">
                  {formatCost(c.costMicros)}
                </td>
                <td class="num" data-label="Run time">
                  {formatDuration(c.elapsedSec)}
                </td>
              </tr>
            ))}
          </tbody>
          {companies.length > 1 && (
            <tfoot>
              <tr>
                <th>All</th>
                {JOB_STATUSES.map((s) => (
                  <td class="num" data-label={s}>
                    {total((c) => c.counts[s])}
                  </td>
                ))}
                <td class="num" data-label="Cost">
                  {formatCost(total((c) => c.costMicros))}
                </td>
                <td class="num" data-label="Run time">
                  {formatDuration(total((c) => c.elapsedSec))}
                </td>
              </tr>
            </tfoot>
          )}
        </table>
      )}
    </section>
  );
}
