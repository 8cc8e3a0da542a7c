/** The dashboard: login, then Jobs, Job, Runners and Costs pages under one header. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, LOGGED_OUT_EVENT } from './api.js';
import { ThemeToggle } from './components/theme.js';
import { CostsPage } from './pages/costs.js';
import { JobPage } from './pages/job.js';
import { JobsPage } from './pages/jobs.js';
import { LoginPage } from './pages/login.js';
import { RunnersPage } from './pages/runners.js';
import { href, useRoute, type Route } from './router.js';
import './app.css';

function Page({ route }: { route: Route }) {
  const [section, id] = route.parts;
  if (section === 'jobs' && id) return <JobPage jobId={id} query={route.query} />;
  if (section === 'runners') return <RunnersPage />;
  if (section === 'costs') return <CostsPage />;
  return <JobsPage query={route.query} />;
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState<'unknown' | 'in' | 'out'>('unknown');
  useEffect(() => {
    api<{ authenticated: boolean }>('GET', '/ui/session').then(
      (s) => setSession(s.authenticated ? 'in' : 'out'),
      () => setSession('out'),
    );
    const onLoggedOut = () => setSession('out');
    window.addEventListener(LOGGED_OUT_EVENT, onLoggedOut);
    return () => window.removeEventListener(LOGGED_OUT_EVENT, onLoggedOut);
  }, []);
  const section = route.parts[0] ?? 'jobs';
  const logout = async () => {
    await api('POST', '/ui/logout').catch(() => {});
    setSession('out');
  };
  return (
    <>
      <header class="top">
        <a class="brand" href={href('/jobs')}>
          FounderOS runner
        </a>
        {session === 'in' && (
          <nav>
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
        <ThemeToggle />
        {session === 'in' && (
          <button type="button" class="link" onClick={logout}>
            Log out
          </button>
        )}
      </header>
      <main>
        {session === 'out' && <LoginPage onLogin={() => setSession('in')} />}
        {session === 'in' && <Page route={route} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
