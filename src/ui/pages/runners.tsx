/**
 * One row per runner token: whether its runner is online (it asked for work lately), when it was last seen, the
 * runner's version, when the token expires, and the job it runs now; create a token (shown once) or revoke one.
 */
import { useState } from 'preact/hooks';
import type { CreatedToken } from '../../control-plane/types.js';
import { api } from '../api.js';
import { ConfirmAction, Submit } from '../components/actions.js';
import { type Column, DataTable } from '../components/table.js';
import { Ago } from '../components/time.js';
import { formatAbsolute, formatUntil } from '../format.js';
import { href } from '../router.js';
import { useCopy, useNow, usePolled, useTitle, type Runner } from '../hooks.js';

/** A token this close to its expiry is flagged: time to rotate it. */
const EXPIRY_WARNING_MS = 14 * 86_400_000;

function CreatedTokenBox({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  const [copied, copy] = useCopy('Copied.', 'Copying is not allowed here: select the token and copy it by hand.');
  return (
    <div class="card created-token" role="status">
      <p>
        Token for <strong>{created.info.name || created.info.companyId}</strong>. It is shown <strong>only this once</strong>: the server
        keeps just its hash.
      </p>
      <code class="token" data-token>
        {created.token}
      </code>
      <div>
        <button type="button" onClick={() => copy(created.token)}>
          Copy
        </button>{' '}
        <button type="button" class="secondary" onClick={onDone}>
          I saved it, hide it
        </button>{' '}
        <span class="muted">{copied}</span>
      </div>
      <p class="muted">
        On the runner's machine: <code>founderos-runner start --token=&lt;token&gt; --server-url={location.origin}</code>
      </p>
    </div>
  );
}

type RunnerState = 'online' | 'offline' | 'revoked' | 'expired';

function stateOf(runner: Runner, now: number): RunnerState {
  if (runner.revokedAt) return 'revoked';
  if (Date.parse(runner.expiresAt) <= now) return 'expired';
  return runner.online ? 'online' : 'offline';
}

export function RunnersPage() {
  const { answer, error, setError, refresh } = usePolled<{ runners: Runner[] }>('/api/admin/runners');
  const [created, setCreated] = useState<CreatedToken>();
  const now = useNow(true);
  useTitle('Runners');
  const create = async (form: HTMLFormElement) => {
    const data = new FormData(form);
    try {
      setCreated(
        await api<CreatedToken>('POST', '/api/admin/tokens', {
          companyId: String(data.get('companyId')).trim(),
          name: String(data.get('name')).trim(),
        }),
      );
      form.reset();
      setError('');
      refresh();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const columns: Column<Runner>[] = [
    { label: 'Name', cell: (runner) => runner.name || '—' },
    { label: 'Company', cell: (runner) => runner.companyId },
    {
      label: 'State',
      cell: (runner) => {
        const state = stateOf(runner, now);
        return (
          <span class={`state st-${state}`} data-state={state}>
            {state}
          </span>
        );
      },
    },
    { label: 'Last seen', cell: (runner) => <Ago iso={runner.lastUsedAt} now={now} /> },
    // Our own runner's version alone ("0.2.0"); another runner's name and version as it gave them.
    { label: 'Version', cell: (runner) => runner.runnerVersion?.replace(/^founderos-runner\//, '') ?? '—' },
    {
      label: 'Expires',
      cell: (runner) => (
        <span
          class={Date.parse(runner.expiresAt) - now < EXPIRY_WARNING_MS && !runner.revokedAt ? 'warn-text' : undefined}
          title={formatAbsolute(runner.expiresAt)}
        >
          {runner.revokedAt ? '—' : formatUntil(runner.expiresAt, now)}
        </span>
      ),
    },
    { label: 'Token', cell: (runner) => <code>{runner.preview}…</code> },
    {
      label: 'Current job',
      cell: ({ currentJobId }) => (currentJobId ? <a href={href(`/jobs/${currentJobId}`)}>{currentJobId.slice(0, 8)}</a> : '—'),
    },
    {
      label: 'Actions',
      class: 'actions',
      cell: (runner) =>
        runner.revokedAt ? null : (
          <ConfirmAction
            class="small danger"
            label="Revoke"
            confirm="Yes, revoke"
            keep="Keep"
            onConfirm={async () => {
              await api('POST', `/api/admin/tokens/${runner.tokenId}/revoke`);
              refresh();
            }}
          />
        ),
    },
  ];
  return (
    <section>
      <h1>Runners</h1>
      <form
        class="card grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          void create(e.currentTarget as HTMLFormElement);
        }}
      >
        <label>
          Company
          <input name="companyId" required placeholder="e.g. acme" />
        </label>
        <label>
          Name
          <input name="name" placeholder="e.g. build box" />
        </label>
        <div>
          <Submit>Create token</Submit>
        </div>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {created && <CreatedTokenBox created={created} onDone={() => setCreated(undefined)} />}
      <DataTable
        rows={answer?.runners}
        empty="No tokens yet: create one above, then start a runner with it."
        class="runners"
        caption="Runner tokens"
        columns={columns}
        rowProps={(runner) => ({ key: runner.tokenId, 'data-token-id': runner.tokenId, class: runner.revokedAt ? 'revoked' : undefined })}
      />
    </section>
  );
}
