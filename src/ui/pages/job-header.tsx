/**
 * The job page's header, compact so that the transcript gets the screen: the agent, its status and the facts that
 * matter in one line, Cancel (confirmed) and Run again, the rest behind "Details"; and below it what the state
 * means: why it failed, who cancelled it, or that no runner of its company is asking for work.
 */
import type { JobDetail, JobRecord } from '../../control-plane/types.js';
import { api } from '../api.js';
import { Action, ConfirmAction } from '../components/actions.js';
import { RUNNING, StatusBadge, TERMINAL } from '../components/status.js';
import { Ago } from '../components/time.js';
import { exactCost, firstLine, formatAbsolute, formatCost, formatDuration, formatTime, runSeconds } from '../format.js';
import { runnerName, type Runner } from '../hooks.js';
import { href } from '../router.js';

function Field({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <div class="field">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** Why a queued job waits: no token for its company, no runner asking for work, or every runner busy. */
function QueuedNotice({ job, runners, now }: { job: JobRecord; runners: Runner[] | undefined; now: number }) {
  if (runners === undefined) return null;
  const usable = runners.filter((r) => r.companyId === job.companyId && !r.revokedAt && Date.parse(r.expiresAt) > now);
  if (usable.length === 0) {
    return (
      <p class="notice warn" data-notice="no-runner">
        No runner can take this job: company <strong>{job.companyId}</strong> has no runner token. <a href={href('/runners')}>Create one</a>{' '}
        and start a runner with it.
      </p>
    );
  }
  const online = usable.filter((r) => r.online);
  if (online.length === 0) {
    return (
      <p class="notice warn" data-notice="no-runner">
        No runner of <strong>{job.companyId}</strong> has asked for work recently, so nothing will take this job until one starts. Runners
        that could take it:{' '}
        {usable.map((r, i) => (
          <span key={r.tokenId}>
            {i > 0 && ', '}
            <strong>{r.name || r.preview}</strong> (
            {r.lastUsedAt ? (
              <>
                last seen <Ago iso={r.lastUsedAt} now={now} />
              </>
            ) : (
              'never seen'
            )}
            )
          </span>
        ))}
        .
      </p>
    );
  }
  const busy = online.filter((r) => r.currentJobId);
  return (
    <p class="notice" data-notice="waiting">
      Waiting for a runner of <strong>{job.companyId}</strong>: {online.length} online
      {busy.length > 0 && `, ${busy.length} busy with another job`}.
    </p>
  );
}

/** How the job ended, or why it waits; nothing while it runs. */
export function JobNotice({ job, runners, now }: { job: JobDetail; runners: Runner[] | undefined; now: number }) {
  if (job.status === 'queued') return <QueuedNotice job={job} runners={runners} now={now} />;
  if (job.status === 'cancelled') {
    return (
      <p class="notice" data-notice="cancelled">
        Cancelled {job.cancelledBy && `by ${job.cancelledBy} `}
        <Ago iso={job.completedAt} now={now} />.
      </p>
    );
  }
  if (job.errorMessage) {
    return (
      <p class="notice error job-error" data-notice="error" title={job.errorMessage}>
        {firstLine(job.errorMessage, 400)}
      </p>
    );
  }
  return null;
}

export function JobHeader({ job, runners, now, count }: { job: JobDetail; runners: Runner[] | undefined; now: number; count: number }) {
  const again = async () => {
    const next = await api<JobRecord>('POST', `/api/admin/jobs/${job.jobId}/run-again`);
    location.hash = href(`/jobs/${next.jobId}`);
  };
  const ran = runSeconds(job, now);
  return (
    <section class="job-head" aria-label="Job">
      <div class="job-title">
        <a class="back" href={href('/jobs')} aria-label="Back to the jobs">
          ←
        </a>
        <h1>{job.agentName}</h1>
        <StatusBadge status={job.status} />
        <span class="job-facts">
          <span title="Company">{job.companyId}</span>
          <span title="Adapter">{job.adapterType ?? 'claude_local'}</span>
          {job.claimedByTokenId && <span title="Runner">{runnerName(runners, job.claimedByTokenId)}</span>}
          <span title={RUNNING.includes(job.status) ? 'Running for' : 'Run time'}>
            {ran === null ? (
              <>
                queued <Ago iso={job.createdAt} now={now} />
              </>
            ) : (
              formatDuration(ran)
            )}
          </span>
          {job.costMicros !== null && <span title={exactCost(job.costMicros)}>{formatCost(job.costMicros)}</span>}
        </span>
        <span class="spacer" />
        <span class="job-actions">
          {!TERMINAL.includes(job.status) && (
            <ConfirmAction
              label="Cancel"
              confirm="Yes, cancel this job"
              keep="Keep it running"
              onConfirm={() => api('POST', `/api/admin/jobs/${job.jobId}/cancel`)}
            />
          )}
          <Action class="secondary" onClick={again} title="Queue a new job with the same prompt, agent, session and settings">
            Run again
          </Action>
        </span>
      </div>
      <details class="job-details">
        <summary>Details</summary>
        <dl class="fields">
          <Field label="Job">
            <code>{job.jobId}</code>
          </Field>
          <Field label="Queued">
            <span title={formatAbsolute(job.createdAt)}>{formatTime(job.createdAt, now)}</span>
          </Field>
          <Field label="Started">{job.claimedAt ? <Ago iso={job.claimedAt} now={now} /> : '—'}</Field>
          <Field label="Finished">{job.completedAt ? <Ago iso={job.completedAt} now={now} /> : '—'}</Field>
          <Field label="Exit">{job.signal ? `signal ${job.signal}` : (job.exitCode ?? '—')}</Field>
          <Field label="Session">{job.resultSessionId ?? job.sessionId ?? '—'}</Field>
          <Field label="CLI version">{job.cliVersion ?? '—'}</Field>
          <Field label="Attempt">{job.attempt}</Field>
          {job.usageLimitedAt && (
            <Field label="Usage limit">
              {job.usageLimitResetsAt ? (
                <span title={formatAbsolute(job.usageLimitResetsAt)}>resets {formatTime(job.usageLimitResetsAt, now)}</span>
              ) : (
                'no reset time given'
              )}
              {` · hit ${job.usageLimitCount}×, last `}
              <Ago iso={job.usageLimitedAt} now={now} />
            </Field>
          )}
          <Field label="Events">{count.toLocaleString('en-US')}</Field>
        </dl>
        <h2 class="prompt-title">Prompt</h2>
        <pre class="prompt">{job.prompt}</pre>
      </details>
      {typeof job.runtimeConfig.instructionsFileContent === 'string' && (
        <details class="job-details">
          <summary>Instructions</summary>
          <pre class="prompt">{decodedInstructions(job.runtimeConfig.instructionsFileContent)}</pre>
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
