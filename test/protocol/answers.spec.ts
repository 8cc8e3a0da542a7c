import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, meaningOf, retryAfterMs, type AnswerMeaning } from '../../src/protocol/answers.js';

const PART_1 = { extension: false };
const PART_2 = { extension: true };

describe('meaningOf', () => {
  it.each<[number | undefined, string | undefined, AnswerMeaning]>([
    [200, undefined, 'accepted'],
    [204, undefined, 'accepted'],
    [409, 'job_terminal', 'job_ended'],
    [409, 'job_already_terminal', 'job_ended'],
    [409, 'job_not_claimable', 'job_ended'],
    [404, 'job_not_found', 'job_gone'],
    [404, undefined, 'job_gone'],
    [404, 'not_found', 'job_gone'],
    [403, 'job_not_owned_by_token', 'job_gone'],
    [403, undefined, 'job_gone'],
    [405, undefined, 'refused'],
    [401, 'invalid_runner_token', 'token_rejected'],
    [401, undefined, 'token_rejected'],
    [401, 'runner_token_expired', 'token_expired'],
    [429, undefined, 'busy'],
    [500, 'internal_error', 'retry_later'],
    [501, undefined, 'retry_later'],
    [502, undefined, 'retry_later'],
    [503, 'server_closing', 'retry_later'],
    [408, undefined, 'retry_later'],
    [425, undefined, 'retry_later'],
    [undefined, undefined, 'retry_later'],
    [302, undefined, 'redirected'],
    [400, 'invalid_request', 'refused'],
    [413, 'payload_too_large', 'refused'],
    [422, undefined, 'refused'],
  ])('should read %s %s on a Part-1 route as %s', (status, code, meaning) => {
    expect(meaningOf(status, code, PART_1)).toBe(meaning);
  });

  it.each<[number, string | undefined, AnswerMeaning]>([
    [204, undefined, 'accepted'],
    [409, 'job_not_owned_by_token', 'job_ended'],
    // The reference server's answer for a job it does not know: the job is gone, not the route.
    [404, 'job_not_found', 'job_gone'],
    [403, 'job_not_owned_by_token', 'job_gone'],
    [404, 'not_found', 'route_missing'],
    [404, undefined, 'route_missing'],
    [405, 'method_not_allowed', 'route_missing'],
    [501, undefined, 'route_missing'],
    [403, undefined, 'refused'],
    [401, 'runner_token_expired', 'token_expired'],
    [429, undefined, 'busy'],
    [502, undefined, 'retry_later'],
    [400, 'invalid_request', 'refused'],
  ])('should read %s %s on a Part-2 route as %s', (status, code, meaning) => {
    expect(meaningOf(status, code, PART_2)).toBe(meaning);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-29T12:00:00Z');

  it.each<[string | null | undefined, number | undefined]>([
    ['7', 7_000],
    [' 0 ', 0],
    ['30', 30_000],
    ['31', MAX_RETRY_AFTER_MS],
    ['99999999999999999999', MAX_RETRY_AFTER_MS],
    ['Sun, 29 Nov 2026 12:00:05 GMT', 5_000],
    ['Sunday, 29-Nov-26 12:00:05 GMT', 5_000],
    ['Sun Nov 29 12:00:05 2026', 5_000],
    ['Sun, 29 Nov 2026 11:00:00 GMT', 0],
    ['Sun, 29 Nov 2027 12:00:00 GMT', MAX_RETRY_AFTER_MS],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['12 monkeys', undefined],
    ['Sun, 99 Foo 2026', undefined],
    ['', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('should read Retry-After %j as %s ms', (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });
});
