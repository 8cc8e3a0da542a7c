/** The dashboard's session cookie and its same-origin rule, as pure functions over request headers. */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  hasSession,
  readCookie,
  requireSameOrigin,
  sessionCookie,
  signSession,
  verifySession,
  SECURE_SESSION_COOKIE,
  SESSION_COOKIE,
} from '../../src/control-plane/dashboard/session.js';

const KEY = 'fosadmin_unit-test-key';
const EPOCH = 7;
const request = (headers: Record<string, string>, method = 'GET', encrypted = false) =>
  ({ headers, method, socket: { encrypted } }) as unknown as IncomingMessage;

describe('dashboard session cookie', () => {
  it('should accept a session signed with the key until it expires', () => {
    const value = signSession(KEY, EPOCH, 1_000, 60_000);
    expect(verifySession(KEY, value, EPOCH, 1_000)).toBe(true);
    expect(verifySession(KEY, value, EPOCH, 60_999)).toBe(true);
    expect(verifySession(KEY, value, EPOCH, 61_000)).toBe(false);
  });

  it('should refuse every session once the admin key is rotated', () => {
    expect(verifySession('fosadmin_the-new-key', signSession(KEY, EPOCH), EPOCH)).toBe(false);
  });

  it('should refuse every session of an earlier epoch (a logout), and one whose epoch was edited', () => {
    const value = signSession(KEY, EPOCH);
    expect(verifySession(KEY, value, EPOCH + 1)).toBe(false);
    const [, issued, expires, signature] = value.split('.');
    expect(verifySession(KEY, `${EPOCH + 1}.${issued}.${expires}.${signature}`, EPOCH + 1)).toBe(false);
  });

  it('should refuse a session whose times were edited, or whose signature is not its own', () => {
    const [epoch, issued, expires, signature] = signSession(KEY, EPOCH, 1_000, 60_000).split('.');
    expect(verifySession(KEY, `${epoch}.${issued}.${Number(expires) * 10}.${signature}`, EPOCH, 2_000)).toBe(false);
    expect(verifySession(KEY, `${epoch}.${issued}.${expires}.${signature!.slice(0, -1)}A`, EPOCH, 2_000)).toBe(false);
    for (const junk of [
      undefined,
      '',
      'x',
      '1.2',
      '1.2.3',
      `${issued}.${expires}.${signature}`,
      `${epoch}.${issued}.${expires}.${signature}.more`,
    ])
      expect(verifySession(KEY, junk, EPOCH, 2_000)).toBe(false);
  });

  it('should never hold the key in the cookie value', () => {
    expect(signSession(KEY, EPOCH)).not.toContain(KEY);
  });

  it('should be HttpOnly and SameSite=Strict, and Secure only over https, where its name is __Host-', () => {
    expect(sessionCookie(request({}), 'v', 60)).toBe(`${SESSION_COOKIE}=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60`);
    expect(sessionCookie(request({}, 'POST', true), 'v', 60)).toBe(
      `${SECURE_SESSION_COOKIE}=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure`,
    );
    expect(sessionCookie(request({ 'x-forwarded-proto': 'https' }), 'v', 60)).toMatch(/^__Host-fos_session=v; .*; Secure$/);
  });

  it('should read the cookie under the name its scheme calls for', () => {
    const value = signSession(KEY, EPOCH);
    expect(hasSession(request({ cookie: `${SECURE_SESSION_COOKIE}=${value}` }, 'GET', true), KEY, EPOCH)).toBe(true);
    expect(hasSession(request({ cookie: `${SESSION_COOKIE}=${value}` }, 'GET', true), KEY, EPOCH)).toBe(false);
    expect(hasSession(request({ cookie: `${SECURE_SESSION_COOKIE}=${value}` }), KEY, EPOCH)).toBe(false);
  });

  it('should read one cookie among several', () => {
    expect(readCookie(`a=1; ${SESSION_COOKIE}=abc.def; b=2`, SESSION_COOKIE)).toBe('abc.def');
    expect(readCookie('a=1', SESSION_COOKIE)).toBeUndefined();
    expect(readCookie(undefined, SESSION_COOKIE)).toBeUndefined();
  });
});

describe('same-origin rule for state changes', () => {
  const cookie = `${SESSION_COOKIE}=${signSession(KEY, EPOCH)}`;

  it('should let the dashboard itself change state', () => {
    expect(hasSession(request({ cookie, host: '127.0.0.1:8787', origin: 'http://127.0.0.1:8787' }, 'POST'), KEY, EPOCH)).toBe(true);
    expect(hasSession(request({ cookie, host: 'runner.example', 'sec-fetch-site': 'same-origin' }, 'POST'), KEY, EPOCH)).toBe(true);
  });

  it('should refuse a state change from another origin, or from no browser at all, with 403 cross_origin_refused', () => {
    const refused: Record<string, string>[] = [
      { cookie, host: '127.0.0.1:8787', origin: 'http://127.0.0.1:9999' },
      { cookie, host: '127.0.0.1:8787', origin: 'null' },
      { cookie, host: '127.0.0.1:8787', origin: 'not a url' },
      { cookie, host: '127.0.0.1:8787', 'sec-fetch-site': 'same-site' },
      { cookie, host: '127.0.0.1:8787' },
    ];
    for (const headers of refused) {
      expect(() => hasSession(request(headers, 'POST'), KEY, EPOCH)).toThrow(
        expect.objectContaining({ status: 403, code: 'cross_origin_refused' }),
      );
    }
  });

  it('should let reads through from anywhere the cookie is sent (they change nothing)', () => {
    expect(hasSession(request({ cookie, host: '127.0.0.1:8787', origin: 'http://elsewhere' }), KEY, EPOCH)).toBe(true);
  });

  it('should not count a missing or forged cookie as a session', () => {
    expect(hasSession(request({ host: 'h', origin: 'http://h' }, 'POST'), KEY, EPOCH)).toBe(false);
    expect(
      hasSession(
        request({ cookie: `${SESSION_COOKIE}=${signSession('fosadmin_other', EPOCH)}`, host: 'h', origin: 'http://h' }, 'POST'),
        KEY,
        EPOCH,
      ),
    ).toBe(false);
    expect(() => requireSameOrigin(request({ host: 'h', origin: 'http://h' }, 'POST'))).not.toThrow();
  });
});
