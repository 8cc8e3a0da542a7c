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

/** Token id → the runner's name (or its token preview), to show who runs a job. */
export function useRunnerNames(): Map<string, string> {
  const [names, setNames] = useState(new Map<string, string>());
  useEffect(() => {
    api<{ runners: TokenInfo[] }>('GET', '/api/admin/runners').then(
      ({ runners }) => setNames(new Map(runners.map((r) => [r.tokenId, r.name || r.preview]))),
      () => {},
    );
  }, []);
  return names;
}
