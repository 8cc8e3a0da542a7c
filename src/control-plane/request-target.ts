/**
 * The request target, read without throwing: `new URL(target, base)` takes `//a:99999/` for a host and a port and
 * throws on it (and on `//[` or `//%zz/`), which once ended the whole server from one unauthenticated request.
 */
export interface RequestTarget {
  /** Still %-encoded, as it came: route parameters are decoded one by one. */
  pathname: string;
  /** The query as it came, without its `?`: parsed only by a route that reads it. */
  rawQuery: string;
}

/** A `%` not followed by two hex digits: no route can be matched against that path. */
const BROKEN_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * The path and query of a request target in origin form (`/path?query`) or absolute form (`http://host/path?query`,
 * which HTTP/1.1 servers must accept); undefined for anything else (`*`, `host:port`, a broken %-escape).
 */
export function parseRequestTarget(target: string): RequestTarget | undefined {
  let pathAndQuery = target;
  if (!target.startsWith('/')) {
    if (!/^https?:\/\//i.test(target)) return undefined;
    try {
      const url = new URL(target);
      pathAndQuery = `${url.pathname}${url.search}`;
    } catch {
      return undefined;
    }
  }
  const withoutFragment = pathAndQuery.replace(/#.*/s, '');
  const question = withoutFragment.indexOf('?');
  const pathname = question === -1 ? withoutFragment : withoutFragment.slice(0, question);
  if (BROKEN_ESCAPE.test(pathname)) return undefined;
  return { pathname, rawQuery: question === -1 ? '' : withoutFragment.slice(question + 1) };
}
