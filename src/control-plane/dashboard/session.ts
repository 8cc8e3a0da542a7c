/**
 * The dashboard's login session: a cookie signed with the admin key (HMAC-SHA256), holding the session epoch it was
 * issued in and its issue and expiry times. The epoch is the one piece of server state, a counter in the database that
 * every server sharing it reads: logging out moves it on, which ends every copy of every session at once (a cookie
 * copied out of a browser stops working too), and rotating the admin key ends them all as well, since no old
 * signature verifies. Requests that change state with the cookie must come from the same origin: the cookie is
 * SameSite=Strict, and the Origin check is the second wall (and covers old browsers).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Queryable } from '../db.js';
import { ControlPlaneError } from '../errors.js';

export const SESSION_COOKIE = 'fos_session';
/**
 * The cookie's name over https: a browser keeps a `__Host-` cookie only when it is Secure, for this host alone
 * (no Domain) and for every path, so neither a sibling subdomain nor plain http can plant or overwrite it.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
/** How long a login lasts; a person logs in again after this. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const SIGNING_CONTEXT = 'founderos-dashboard-session.v1';

function mac(adminKey: string, payload: string): Buffer {
  return createHmac('sha256', adminKey).update(`${SIGNING_CONTEXT}.${payload}`).digest();
}

/**
 * A session value `<epoch>.<issuedMs>.<expiresMs>.<signature>`: nothing secret in it, nothing forgeable without the
 * key.
 */
export function signSession(adminKey: string, epoch: number, now = Date.now(), ttlMs = SESSION_TTL_MS): string {
  const payload = `${epoch}.${now}.${now + ttlMs}`;
  return `${payload}.${mac(adminKey, payload).toString('base64url')}`;
}

/** Whether a session value was signed with this key in this epoch and has not expired. */
export function verifySession(adminKey: string, value: string | undefined, epoch: number, now = Date.now()): boolean {
  const [, signedEpoch, issuedAt, expiresAt, signature] =
    /^(\d{1,15})\.(\d{1,15})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '') ?? [];
  if (signature === undefined) return false;
  const presented = Buffer.from(signature, 'base64url');
  const expected = mac(adminKey, `${signedEpoch}.${issuedAt}.${expiresAt}`);
  return (
    presented.length === expected.length && timingSafeEqual(presented, expected) && Number(signedEpoch) === epoch && Number(expiresAt) > now
  );
}

/** The current session epoch: sessions signed in another one are over. */
export async function sessionEpoch(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ epoch: string | number }>('SELECT epoch FROM session_epoch');
  return Number(rows[0]?.epoch ?? 0);
}

/** Ends every session, on every server of this database: the epoch moves on. */
export async function endAllSessions(db: Queryable): Promise<void> {
  await db.query('UPDATE session_epoch SET epoch = epoch + 1');
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

function cookieName(req: IncomingMessage): string {
  return isHttps(req) ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

export function sessionCookie(req: IncomingMessage, value: string, maxAgeSec: number): string {
  const secure = isHttps(req) ? '; Secure' : '';
  return `${cookieName(req)}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}${secure}`;
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

/**
 * Whether the request carries a valid session cookie of this epoch (under the name its scheme calls for); for methods
 * other than GET it must also be same-origin.
 */
export function hasSession(req: IncomingMessage, adminKey: string, epoch: number): boolean {
  if (!verifySession(adminKey, readCookie(req.headers.cookie, cookieName(req)), epoch)) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') requireSameOrigin(req);
  return true;
}
