/** Hooks the pages share. */
import { useEffect, useState } from 'preact/hooks';
import type { TokenInfo } from '../control-plane/types.js';
import { api } from './api.js';

/** Re-renders every second while something on the page counts up. */
export function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/** How often a list page without a live stream asks again. */
const REFRESH_MS = 5000;

/**
 * A GET answer, asked again every few seconds and at once on `refresh()`; undefined until the first answer.
 * The error is the last failed request's (a later answer does not clear it); the page may set its own.
 */
export function usePolled<T>(path: string) {
  const [answer, setAnswer] = useState<T>();
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    api<T>('GET', path).then(setAnswer, (err: Error) => setError(err.message));
    const timer = setTimeout(() => setTick((t) => t + 1), REFRESH_MS);
    return () => clearTimeout(timer);
  }, [path, tick]);
  return { answer, error, setError, refresh: () => setTick((t) => t + 1) };
}

/**
 * Who runs a job: the name (or token preview) of the runner whose token claimed it, the token id's start while
 * the names load or for a token no longer listed, `—` when no runner has claimed it.
 */
export function useRunnerName(): (claimedByTokenId: string | null) => string {
  const [names, setNames] = useState(new Map<string, string>());
  useEffect(() => {
    api<{ runners: TokenInfo[] }>('GET', '/api/admin/runners').then(
      ({ runners }) => setNames(new Map(runners.map((r) => [r.tokenId, r.name || r.preview]))),
      () => {},
    );
  }, []);
  return (tokenId) => (tokenId ? (names.get(tokenId) ?? tokenId.slice(0, 8)) : '—');
}
