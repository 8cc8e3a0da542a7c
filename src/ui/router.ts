/**
 * Routes live in the URL's hash (`#/jobs?status=failed`), so the server serves one page, a reload keeps the
 * page and its filters, and each transcript event has a link.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** e.g. ['jobs', '<id>'] */
  parts: string[];
  query: URLSearchParams;
}

/** A part of the path as it was typed when it is not a valid %-escape (`#/jobs/%`): the page then says "no such job". */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

export function parseHash(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodePart), query: new URLSearchParams(search) };
}

export function href(path: string, query?: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value) params.set(key, value);
  const search = params.toString();
  return `#${path}${search ? `?${search}` : ''}`;
}

/**
 * Goes to a route. `replace` changes the URL without a new history entry (a search typed letter by letter is one
 * step back, not one per letter); the page hears of it as of any hash change.
 */
export function navigate(hash: string, replace = false): void {
  if (!replace) {
    location.hash = hash;
    return;
  }
  history.replaceState(history.state, '', hash);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
