/**
 * The dashboard's login session: a cookie signed with the admin key (HMAC-SHA256), holding only its issue and
 * expiry times. It keeps no server state, so every server sharing one database accepts it, and rotating the admin
 * key ends every session at once. Requests that change state with the cookie must come from the same origin:
 * the cookie is SameSite=Strict, and the Origin check is the second wall (and covers old browsers).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ControlPlaneError } from '../errors.js';

export const SESSION_COOKIE = 'fos_session';
/** How long a login lasts; a person logs in again after this. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const SIGNING_CONTEXT = 'founderos-dashboard-session.v1';

function mac(adminKey: string, payload: string): Buffer {
  return createHmac('sha256', adminKey).update(`${SIGNING_CONTEXT}.${payload}`).digest();
}

/** A session value `<issuedMs>.<expiresMs>.<signature>`: nothing secret in it, nothing forgeable without the key. */
export function signSession(adminKey: string, now = Date.now(), ttlMs = SESSION_TTL_MS): string {
  const payload = `${now}.${now + ttlMs}`;
  return `${payload}.${mac(adminKey, payload).toString('base64url')}`;
}

/** Whether a session value was signed with this key and has not expired. */
export function verifySession(adminKey: string, value: string | undefined, now = Date.now()): boolean {
  const match = /^(\d{1,15})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
  if (!match) return false;
  const presented = Buffer.from(match[3]!, 'base64url');
  const expected = mac(adminKey, `${match[1]}.${match[2]}`);
  return presented.length === expected.length && timingSafeEqual(presented, expected) && Number(match[2]) > now;
}

/** One cookie's value from a `cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether the request reached us over https (directly, or through a proxy that says so). */
function isHttps(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true || req.headers['x-forwarded-proto'] === 'https';
}

export function sessionCookie(req: IncomingMessage, value: string, maxAgeSec: number): string {
  const secure = isHttps(req) ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}${secure}`;
}

/**
 * Refuses a state-changing request that a page of another origin could have made: the browser's `Origin` (or,
 * failing that, `Sec-Fetch-Site`) must name this server. A request with neither is no browser's and is refused too:
 * scripts use the bearer key.
 */
export function requireSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  const host = req.headers.host;
  let sameOrigin: boolean;
  if (origin !== undefined && origin !== 'null') {
    try {
      sameOrigin = host !== undefined && new URL(origin).host === host;
    } catch {
      sameOrigin = false;
    }
  } else {
    sameOrigin = req.headers['sec-fetch-site'] === 'same-origin';
  }
  if (!sameOrigin) {
    throw new ControlPlaneError(
      403,
      'cross_origin_refused',
      "This request changes state but did not come from the dashboard's own origin (its Origin header names another " +
        'site, or it has none); use the dashboard itself, or send "authorization: Bearer <admin key>" from scripts.',
    );
  }
}

/** Whether the request carries a valid session cookie; for methods other than GET it must also be same-origin. */
export function hasSession(req: IncomingMessage, adminKey: string): boolean {
  if (!verifySession(adminKey, readCookie(req.headers.cookie, SESSION_COOKIE))) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') requireSameOrigin(req);
  return true;
}
