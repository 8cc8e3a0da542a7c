import { describe, expect, it } from 'vitest';
import { isTransientError } from '../../src/operators/isTransientError.js';

describe('isTransientError', () => {
  it.each([408, 425, 429, 500, 502, 503, 504, 599])('should retry status %i', (status) => {
    expect(isTransientError({ status })).toBe(true);
    expect(isTransientError({ response: { status } })).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 422, 301])('should not retry status %i', (status) => {
    expect(isTransientError({ status })).toBe(false);
    expect(isTransientError({ response: { status } })).toBe(false);
  });

  it('should prefer error.status to error.response.status', () => {
    expect(isTransientError({ status: 401, response: { status: 503 } })).toBe(false);
  });

  it('should retry errors without a status: network failures, resets, timeouts', () => {
    expect(isTransientError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientError(new TypeError('fetch failed'))).toBe(true);
    expect(isTransientError(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }))).toBe(true);
    expect(isTransientError({ status: '500' })).toBe(true);
    expect(isTransientError('boom')).toBe(true);
    expect(isTransientError(undefined)).toBe(true);
  });

  it('should not retry an abort', () => {
    expect(isTransientError(new DOMException('The operation was aborted.', 'AbortError'))).toBe(false);
    expect(isTransientError(Object.assign(new Error('aborted'), { name: 'AbortError', status: 503 }))).toBe(false);
  });
});
