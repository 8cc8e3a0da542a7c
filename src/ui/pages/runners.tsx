/** One row per runner token: who, when last seen, what it runs now; create one (shown once) or revoke one. */
import { useEffect, useState } from 'preact/hooks';
import type { CreatedToken, TokenInfo } from '../../control-plane/types.js';
import { api } from '../api.js';
import { formatAgo, formatTime } from '../format.js';
import { href } from '../router.js';
import { useNow } from '../hooks.js';

type Runner = TokenInfo & { currentJobId: string | null };
const REFRESH_MS = 5000;

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
  const [runners, setRunners] = useState<Runner[]>();
  const [error, setError] = useState('');
  const [created, setCreated] = useState<CreatedToken>();
  const [tick, setTick] = useState(0);
  const now = useNow(true);
  useEffect(() => {
    api<{ runners: Runner[] }>('GET', '/api/admin/runners').then(
      (body) => setRunners(body.runners),
      (err: Error) => setError(err.message),
    );
    const timer = setTimeout(() => setTick((t) => t + 1), REFRESH_MS);
    return () => clearTimeout(timer);
  }, [tick]);
  const refresh = () => setTick((t) => t + 1);
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
      {runners === undefined ? (
        <p class="muted">Loading…</p>
      ) : runners.length === 0 ? (
        <p class="muted">No tokens yet: create one above, then start a runner with it.</p>
      ) : (
        <table class="runners">
          <thead>
            <tr>
              <th>Name</th>
              <th>Company</th>
              <th>Token</th>
              <th>Created</th>
              <th>Last seen</th>
              <th>Revoked</th>
              <th>Current job</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {runners.map((runner) => (
              <tr key={runner.tokenId} data-token-id={runner.tokenId} class={runner.revokedAt ? 'revoked' : undefined}>
                <td data-label="Name">{runner.name || '—'}</td>
                <td data-label="Company">{runner.companyId}</td>
                <td data-label="Token">
                  <code>{runner.preview}…</code>
                </td>
                <td data-label="Created">{formatTime(runner.createdAt)}</td>
                <td data-label="Last seen" title={runner.lastUsedAt ?? ''}>
                  {formatAgo(runner.lastUsedAt, now)}
                </td>
                <td data-label="Revoked">{runner.revokedAt ? formatTime(runner.revokedAt) : 'no'}</td>
                <td data-label="Current job">
                  {runner.currentJobId ? <a href={href(`/jobs/${runner.currentJobId}`)}>{runner.currentJobId.slice(0, 8)}</a> : '—'}
                </td>
                <td class="actions">
                  <RevokeButton runner={runner} onRevoked={refresh} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
