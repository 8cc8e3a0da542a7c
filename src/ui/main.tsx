/**
 * The dashboard: login, then Jobs, Job, Runners and Costs pages under one header, a skip link to the page, a
 * banner while the server does not answer, and the keyboard shortcuts behind `?`.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type ApiError, LOGGED_OUT_EVENT } from './api.js';
import { useReachable } from './connection.js';
import { ThemeToggle } from './components/theme.js';
import { CostsPage } from './pages/costs.js';
import { JobPage } from './pages/job.js';
import { JobsPage } from './pages/jobs.js';
import { LoginPage } from './pages/login.js';
import { RunnersPage } from './pages/runners.js';
import { href, useRoute, type Route } from './router.js';
import { useShortcuts } from './hooks.js';
import './app.css';

const SHORTCUTS: Array<[string, string]> = [
  ['/', 'Search'],
  ['j / k', 'Next / previous job'],
  ['o', 'Open the selected job (jobs list)'],
  ['f', 'Follow the newest line, or stop (job page)'],
  ['t', 'Times since the start, or by the clock (job page)'],
  ['?', 'Show these keys'],
];

function Page({ route }: { route: Route }) {
  const [section, id] = route.parts;
  if (section === 'jobs' && id) return <JobPage key={id} jobId={id} query={route.query} />;
  if (section === 'runners') return <RunnersPage />;
  if (section === 'costs') return <CostsPage query={route.query} />;
  return <JobsPage query={route.query} />;
}

function Unreachable() {
  const reachable = useReachable();
  if (reachable) return null;
  return (
    <div class="banner" role="alert">
      <strong>The server is not answering.</strong> Times are stopped and actions off until it is back; this page reconnects by itself.
    </div>
  );
}

function ShortcutHelp({ onClose }: { onClose: () => void }) {
  return (
    <dialog
      class="help"
      open
      aria-labelledby="help-title"
      onKeyDown={(e) => e.key === 'Escape' && onClose()}
      ref={(el) => el?.querySelector('button')?.focus()}
    >
      <h2 id="help-title">Keyboard shortcuts</h2>
      <dl>
        {SHORTCUTS.map(([keys, what]) => (
          <div key={keys}>
            <dt>
              <kbd>{keys}</kbd>
            </dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
      <button type="button" onClick={onClose}>
        Close
      </button>
    </dialog>
  );
}

/**
 * Whether this browser was logged in when it last looked (the cookie itself is HttpOnly): the page then starts at
 * once, in parallel with the check, instead of after it; the check (or any 401) still sends it to the login form.
 */
const WAS_IN = 'fos-was-logged-in';
type Session = 'unknown' | 'in' | 'out';

function useSession(): [Session, (next: 'in' | 'out') => void] {
  const [session, setSession] = useState<Session>(() => (localStorage.getItem(WAS_IN) ? 'in' : 'unknown'));
  const set = (next: 'in' | 'out') => {
    if (next === 'in') localStorage.setItem(WAS_IN, '1');
    else localStorage.removeItem(WAS_IN);
    setSession(next);
  };
  return [session, set];
}

function App() {
  const route = useRoute();
  const [session, setSession] = useSession();
  const [help, setHelp] = useState(false);
  useEffect(() => {
    api<{ authenticated: boolean }>('GET', '/ui/session').then(
      (s) => setSession(s.authenticated ? 'in' : 'out'),
      // No answer at all says nothing of the session: a page already shown stays, under the banner.
      (err: ApiError) => (err.status !== 0 || !localStorage.getItem(WAS_IN)) && setSession('out'),
    );
    const onLoggedOut = () => setSession('out');
    window.addEventListener(LOGGED_OUT_EVENT, onLoggedOut);
    return () => window.removeEventListener(LOGGED_OUT_EVENT, onLoggedOut);
  }, []);
  useShortcuts({ '?': () => setHelp(true) });
  const section = route.parts[0] ?? 'jobs';
  const jobPage = section === 'jobs' && route.parts[1] !== undefined;
  const logout = async () => {
    await api('POST', '/ui/logout').catch(() => {});
    setSession('out');
  };
  return (
    <div class={`app${jobPage ? ' fill' : ''}`}>
      {/* A button, not a link to #main: the page's routes live in the hash, which a fragment link would replace. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to the page
      </button>
      <header class="top">
        <a class="brand" href={href('/jobs')}>
          FounderOS <span class="brand-rest">runner</span>
        </a>
        {session === 'in' && (
          <nav aria-label="Pages">
            <a href={href('/jobs')} aria-current={section === 'jobs' ? 'page' : undefined}>
              Jobs
            </a>
            <a href={href('/runners')} aria-current={section === 'runners' ? 'page' : undefined}>
              Runners
            </a>
            <a href={href('/costs')} aria-current={section === 'costs' ? 'page' : undefined}>
              Costs
            </a>
          </nav>
        )}
        <span class="spacer" />
        {session === 'in' && (
          <button type="button" class="link keys" onClick={() => setHelp(true)} aria-label="Keyboard shortcuts">
            ?
          </button>
        )}
        <ThemeToggle />
        {session === 'in' && (
          <button type="button" class="link" onClick={logout}>
            Log out
          </button>
        )}
      </header>
      <Unreachable />
      <main id="main" tabIndex={-1}>
        {session === 'out' && <LoginPage onLogin={() => setSession('in')} />}
        {session === 'in' && <Page route={route} />}
      </main>
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
    </div>
  );
}

const root = document.getElementById('app');
if (!root) throw new Error('the page has no #app element to render the dashboard into');
render(<App />, root);
