import { describe, expect, it } from 'vitest';
import { durationMs, localClockTime, plausibleReset, resetFromHeaders, retryInText } from '../../src/agents/reset-time.js';

const now = Date.UTC(2026, 11, 7, 11, 40);

describe('durationMs', () => {
  it('should read the durations the model APIs print, in milliseconds', () => {
    expect(durationMs('37s')).toBe(37_000);
    expect(durationMs('37.917259018s')).toBe(37_918);
    expect(durationMs('250ms')).toBe(250);
    expect(durationMs('1m30s')).toBe(90_000);
    expect(durationMs('6m0s')).toBe(360_000);
    expect(durationMs('2h13m4.5s')).toBe(7_984_500);
  });

  it('should refuse what is not a whole duration', () => {
    for (const text of ['', '37', 's', '37 s', '3 days', '1m30', '12sx', '-5s']) expect(durationMs(text), text).toBeUndefined();
  });
});

describe('retryInText', () => {
  it('should read the wait a message names, the last one when there are several', () => {
    expect(retryInText('Please try again in 20s. Visit https://platform.openai.com/account/rate-limits', now)).toBe(now + 20_000);
    expect(retryInText('Please retry in 37.917259018s.\nSuggested retry after 37s.]', now)).toBe(now + 37_000);
    expect(retryInText('Rate limit reached. Please try again in 6m0s.', now)).toBe(now + 360_000);
  });

  it('should read no wait from words that give none', () => {
    expect(retryInText('Please wait and try again later.', now)).toBeUndefined();
    expect(retryInText('try again in 3 days 6 hours 57 minutes.', now)).toBeUndefined();
  });
});

describe('localClockTime', () => {
  // Local times, whatever the machine's zone: the CLI prints its reset on the same clock.
  const morning = new Date(2026, 11, 7, 9, 5).getTime();

  it('should read a time of the day itself, as codex prints it', () => {
    expect(localClockTime('or try again at 3:28 PM.', morning)).toBe(new Date(2026, 11, 7, 15, 28).getTime());
    expect(localClockTime('Try again at 11:50 AM.', morning)).toBe(new Date(2026, 11, 7, 11, 50).getTime());
    expect(localClockTime('Try again at 12:05 PM.', morning)).toBe(new Date(2026, 11, 7, 12, 5).getTime());
    expect(localClockTime('Try again at 12:05 AM.', morning)).toBe(new Date(2026, 11, 7, 0, 5).getTime());
  });

  it('should read a time of another day, with its date', () => {
    expect(localClockTime('or try again at Dec 9th, 2026 2:02 PM.', morning)).toBe(new Date(2026, 11, 9, 14, 2).getTime());
    expect(localClockTime('Try again at Jan 1st, 2027 12:30 AM.', morning)).toBe(new Date(2027, 0, 1, 0, 30).getTime());
  });

  it('should read nothing from other words', () => {
    expect(localClockTime('Try again later.', morning)).toBeUndefined();
    expect(localClockTime('try again at Foo 9th, 2026 2:02 PM', morning)).toBeUndefined();
  });
});

describe('resetFromHeaders', () => {
  const at = Date.UTC(2026, 11, 7, 11, 40, 0);

  it('should take the latest reset of the limits the headers show as spent (OpenAI: a duration after the answer)', () => {
    const headers = {
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '20s',
      'x-ratelimit-remaining-tokens': '29760',
      'x-ratelimit-reset-tokens': '480ms',
      'retry-after': '5',
    };
    expect(resetFromHeaders(headers, at)).toBe(at + 20_000);
    expect(resetFromHeaders({ ...headers, 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '6m0s' }, at)).toBe(
      at + 360_000,
    );
  });

  it('should read Anthropic’s reset times, and a subscription’s unified reset in epoch seconds', () => {
    expect(
      resetFromHeaders(
        { 'anthropic-ratelimit-input-tokens-remaining': '0', 'anthropic-ratelimit-input-tokens-reset': '2026-12-07T11:42:00Z' },
        at,
      ),
    ).toBe(Date.UTC(2026, 11, 7, 11, 42));
    const unified = { 'anthropic-ratelimit-unified-status': 'rejected', 'anthropic-ratelimit-unified-reset': String(at / 1000 + 3600) };
    expect(resetFromHeaders(unified, at)).toBe(at + 3600_000);
    expect(resetFromHeaders({ ...unified, 'anthropic-ratelimit-unified-status': 'allowed_warning' }, at)).toBeUndefined();
  });

  it('should fall back on retry-after, in seconds or as an HTTP date, and give nothing without it', () => {
    expect(resetFromHeaders({ 'retry-after': '120' }, at)).toBe(at + 120_000);
    expect(resetFromHeaders({ 'retry-after': 'Mon, 07 Dec 2026 12:00:00 GMT' }, at)).toBe(Date.UTC(2026, 11, 7, 12));
    expect(resetFromHeaders({ 'retry-after': 'soon' }, at)).toBeUndefined();
    expect(resetFromHeaders({ 'x-request-id': 'req_1' }, at)).toBeUndefined();
  });
});

describe('plausibleReset', () => {
  it('should keep a reset from a minute ago (a time said to the minute) to a month ahead, and nothing else', () => {
    expect(plausibleReset(now - 59_000, now)).toBe(now - 59_000);
    expect(plausibleReset(now + 31 * 86_400_000, now)).toBe(now + 31 * 86_400_000);
    expect(plausibleReset(now - 61_000, now)).toBeUndefined();
    expect(plausibleReset(now + 33 * 86_400_000, now)).toBeUndefined();
    expect(plausibleReset(Number.NaN, now)).toBeUndefined();
    expect(plausibleReset(undefined, now)).toBeUndefined();
  });
});
