/** Which server URLs may carry the runner's token: https anywhere, plain http only to this machine. */
import { isLoopback } from '../loopback.js';

/** Why a server URL cannot carry a runner token, or undefined when it can. */
export function serverUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL; give the base URL, e.g. https://founderos.example.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must start with https:// (got ${url.protocol})`;
  if (url.username || url.password) return 'must not contain a user name or password; the runner sends its token itself';
  if (url.search || url.hash) return 'must not have a query or fragment; give the base URL only';
  if (url.protocol === 'http:' && !isLoopback(url.hostname))
    return 'uses plain http to a host that is not this machine, which would send the token in clear text; use https://';
  return undefined;
}
