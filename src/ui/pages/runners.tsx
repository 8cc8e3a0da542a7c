/** One row per runner token: who, when last seen, what it runs now; create one (shown once) or revoke one. */
import { useState } from 'preact/hooks';
import type { CreatedToken, TokenInfo } from '../../control-plane/types.js';
import { api } from '../api.js';
import { type Column, DataTable } from '../components/table.js';
import { formatAgo, formatTime } from '../format.js';
import { href } from '../router.js';
import { useNow, usePolled } from '../hooks.js';

type Runner = TokenInfo & { currentJobId: string | null };

function CreatedTokenBox({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied('Copied.');
    } catch {
      setCopied('Copying is not allowed here: select the token and copy it by hand.');
    }
  };
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
        <button type="button" onClick={copy}>
          Copy
        </button>{' '}
        <button type="button" onClick={onDone}>
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

function RevokeButton({ runner, onRevoked }: { runner: Runner; onRevoked: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState('');
  if (runner.revokedAt) return null;
  const revoke = async () => {
    try {
      await api('POST', `/api/admin/tokens/${runner.tokenId}/revoke`);
      onRevoked();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return confirming ? (
    <>
      <button type="button" class="small danger" onClick={revoke}>
        Yes, revoke
      </button>{' '}
      <button type="button" class="small" onClick={() => setConfirming(false)}>
        Keep
      </button>
      {error && <span class="error">{error}</span>}
    </>
  ) : (
    <button type="button" class="small danger" onClick={() => setConfirming(true)}>
      Revoke
    </button>
  );
}

export function RunnersPage() {
  const { answer, error, setError, refresh } = usePolled<{ runners: Runner[] }>('/api/admin/runners');
  const [created, setCreated] = useState<CreatedToken>();
  const now = useNow(true);
  const create = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
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
    { label: 'Token', cell: (runner) => <code>{runner.preview}…</code> },
    { label: 'Created', cell: (runner) => formatTime(runner.createdAt) },
    { label: 'Last seen', cell: (runner) => formatAgo(runner.lastUsedAt, now), title: (runner) => runner.lastUsedAt ?? '' },
    { label: 'Revoked', cell: (runner) => (runner.revokedAt ? formatTime(runner.revokedAt) : 'no') },
    {
      label: 'Current job',
      cell: ({ currentJobId }) => (currentJobId ? <a href={href(`/jobs/${currentJobId}`)}>{currentJobId.slice(0, 8)}</a> : '—'),
    },
    { class: 'actions', cell: (runner) => <RevokeButton runner={runner} onRevoked={refresh} /> },
  ];
  return (
    <section>
      <h1>Runners</h1>
      <form class="card grid-form" onSubmit={create}>
        <label>
          Company
          <input name="companyId" required placeholder="e.g. acme" />
        </label>
        <label>
          Name
          <input name="name" placeholder="e.g. build box" />
        </label>
        <div>
          <button type="submit">Create token</button>
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
        columns={columns}
        rowProps={(runner) => ({ key: runner.tokenId, 'data-token-id': runner.tokenId, class: runner.revokedAt ? 'revoked' : undefined })}
      />
    </section>
  );
}
