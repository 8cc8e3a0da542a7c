/** Hooks the pages share. */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { RunnerInfo } from '../control-plane/dashboard/routes.js';
import { api, type ApiError } from './api.js';
import { useReachable } from './connection.js';

/**
 * Re-renders every second while something on the page counts up; the clock stops while the server is
 * unreachable, so that no run time goes on counting for a job nobody can see.
 */
export function useNow(active: boolean): number {
  const reachable = useReachable();
  const [now, setNow] = useState(Date.now());
  const ticking = active && reachable;
  useEffect(() => {
    if (!ticking) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return now;
}

/** How often a list page without a live stream asks again. */
const REFRESH_MS = 5000;

/**
 * A GET answer, asked again every few seconds and at once on `refresh()`; undefined until the first answer.
 * `error` is the page's own (set with `setError`, e.g. a failed form) or else the last poll's, which the next
 * answer clears; a server that does not answer at all is the banner's to say, not each page's.
 */
export function usePolled<T>(path: string) {
  const [answer, setAnswer] = useState<T>();
  const [pollError, setPollError] = useState('');
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    api<T>('GET', path).then(
      (value) => current && (setAnswer(value), setPollError('')),
      (err: ApiError) => current && setPollError(err.status === 0 ? '' : err.message),
    );
    const timer = setTimeout(() => setTick((t) => t + 1), REFRESH_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [path, tick]);
  return { answer, error: error || pollError, setError, refresh: () => setTick((t) => t + 1) };
}

/** A runner token as the dashboard lists it: online or not (the server judges), and the job it runs now. */
export type Runner = RunnerInfo;

/** The runner tokens (revoked ones too), asked again every few seconds; undefined until the first answer. */
export function useRunners(): Runner[] | undefined {
  return usePolled<{ runners: Runner[] }>('/api/admin/runners').answer?.runners;
}

/**
 * Who runs a job: the name (or token preview) of the runner whose token claimed it, the token id's start while
 * the names load or for a token no longer listed, `—` when no runner has claimed it.
 */
export function runnerName(runners: Runner[] | undefined, tokenId: string | null): string {
  if (!tokenId) return '—';
  const runner = runners?.find((r) => r.tokenId === tokenId);
  return runner ? runner.name || runner.preview : tokenId.slice(0, 8);
}

/** Wider than a phone: the layout the style sheet's narrow rules leave alone. */
export const WIDE = '(min-width: 761px)';

/** Whether a media query matches, following it as the window changes. */
export function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const list = matchMedia(query);
    const onChange = () => setMatches(list.matches);
    list.addEventListener('change', onChange);
    return () => list.removeEventListener('change', onChange);
  }, [query]);
  return matches;
}

/**
 * Copies text to the clipboard, and says how it went for a few seconds: `done` when it worked, else a way to do
 * it by hand (the browser may refuse: an http page, a denied permission).
 */
export function useCopy(done: string, byHand: string): [string, (text: string) => Promise<void>] {
  const [said, setSaid] = useState('');
  const copy = async (text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      setSaid(done);
    } catch {
      setSaid(byHand);
    }
    setTimeout(() => setSaid(''), 3000);
  };
  return [said, copy];
}

const BASE_TITLE = 'FounderOS runner';

/** The tab's title: what the page shows, then the product. */
export function useTitle(title: string | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · ${BASE_TITLE}` : BASE_TITLE;
  }, [title]);
}

/** Is the key press meant for a field (typing), not for the page's shortcuts? */
function typing(event: KeyboardEvent): boolean {
  const target = event.target as HTMLElement | null;
  return target !== null && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

/**
 * Single-key shortcuts (`/`, `j`, `k`, `f`…) while the page is shown; not while typing in a field or with a
 * modifier held, so they never take a key from the browser or from a form.
 */
export function useShortcuts(keys: Record<string, () => void>): void {
  const current = useRef(keys);
  current.current = keys;
  // Before the page is painted, so that a key pressed as soon as it shows is heard.
  useLayoutEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
      const action = current.current[event.key];
      if (!action) return;
      event.preventDefault();
      action();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}
