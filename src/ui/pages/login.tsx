/**
 * The admin key, pasted once: the server answers with an HttpOnly session cookie. The key goes in a POST body,
 * never in the URL, and the page keeps it nowhere (the field is cleared at once).
 */
import { useState } from 'preact/hooks';
import { api } from '../api.js';

export function LoginPage({ onLogin }: { onLogin: () => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = form.elements.namedItem('adminKey') as HTMLInputElement;
    const adminKey = field.value;
    field.value = '';
    setBusy(true);
    setError('');
    try {
      await api('POST', '/ui/login', { adminKey });
      onLogin();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card login">
      <h1>Log in</h1>
      <p class="muted">
        Paste the server's admin key. It is in <code>admin.key</code> in the server's data dir (the server prints where), or in
        <code>FOUNDEROS_ADMIN_KEY</code> where the server runs.
      </p>
      <form onSubmit={submit} autocomplete="off">
        <label>
          Admin key
          <input name="adminKey" type="password" required autofocus spellcheck={false} autocomplete="off" />
        </label>
        <button type="submit" disabled={busy}>
          Log in
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
