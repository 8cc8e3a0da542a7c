import { describe, expect, it } from 'vitest';
import {
  check,
  checkJobPayload,
  CompletionSchema,
  EventsBatchSchema,
  HeartbeatSchema,
  JobDescriptorSchema,
  jobIdProblem,
  readErrorBody,
} from '../../src/protocol/schemas.js';
import { describeValue } from '../../src/protocol/values.js';

const valid = {
  jobId: 'j1',
  agentId: 'a1',
  prompt: 'hi',
  sessionId: null,
  promptHash: 'h',
  runtimeConfig: { model: 'sonnet', maxTurns: 3, timeoutSec: 60 },
};

describe('job ids', () => {
  it.each(['3f0e2a4c-8b1d-4e6f-9a7b-0c1d2e3f4a5b', 'job_1', 'A', 'x'.repeat(128)])('should accept %s', (jobId) => {
    expect(jobIdProblem(jobId)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a dot segment', '.'],
    ['a parent segment', '..'],
    ['a slash', 'a/b'],
    ['a backslash', 'a\\b'],
    ['a percent escape', 'a%2Fb'],
    ['NUL', 'a\u0000'],
    ['a newline', 'a\nb'],
    ['DEL', 'a\u007f'],
    ['a C1 control', 'a\u0085'],
    ['a space', 'a b'],
    ['a bidi override', 'a\u202eb'],
    ['a zero-width space', 'a\u200bb'],
    ['a lone surrogate', 'a\ud800'],
    ['an emoji', 'a😀'],
    ['a letter outside ASCII', 'café'],
    ['a colon', 'c:'],
    ['a Windows reserved character', 'a*b'],
    ['a number', 42],
    ['null', null],
  ])('should refuse %s, saying what a job id must be', (_what, jobId) => {
    expect(jobIdProblem(jobId)).toMatch(
      /^a job id must be 1 to 128 ASCII letters, digits, "-" or "_" \(it goes into URL paths and file names\) \(got .+\)$/,
    );
  });
});

describe('job descriptor', () => {
  it('should accept what the protocol announces, and infer its type', () => {
    const descriptor = { jobId: 'j1', agentId: 'a', agentName: 'Sarah', createdAt: '2026-01-01T00:00:00Z' };
    expect(check(JobDescriptorSchema, descriptor)).toEqual({ ok: true, value: descriptor });
  });

  it('should accept a descriptor with a jobId alone, and one whose informational fields are odd, keeping only their strings', () => {
    expect(check(JobDescriptorSchema, { jobId: 'j1' })).toEqual({ ok: true, value: { jobId: 'j1' } });
    const odd = { jobId: 'j1', agentId: 7, agentName: null, createdAt: { at: 'yesterday' }, futureField: [1] };
    expect(check(JobDescriptorSchema, odd)).toEqual({ ok: true, value: { jobId: 'j1' } });
    expect(check(JobDescriptorSchema, { jobId: 'j1', agentName: 'Sarah', createdAt: 'not a time' })).toEqual({
      ok: true,
      value: { jobId: 'j1', agentName: 'Sarah', createdAt: 'not a time' },
    });
  });

  it('should refuse a descriptor without a usable jobId, saying what a job id must be', () => {
    expect(check(JobDescriptorSchema, { jobId: '..', agentId: 7 })).toEqual({
      ok: false,
      problems: ['jobId must be 1 to 128 ASCII letters, digits, "-" or "_" (it goes into URL paths and file names) (got "..")'],
    });
    expect(check(JobDescriptorSchema, { agentId: 'a' })).toEqual({
      ok: false,
      problems: ['jobId must be 1 to 128 ASCII letters, digits, "-" or "_" (it goes into URL paths and file names) (got nothing)'],
    });
  });
});

describe('claim payload', () => {
  it('should accept a well-formed payload and fill in the optional parts', () => {
    expect(checkJobPayload({ jobId: 'j1', prompt: 'hi' }, 'j1')).toEqual({
      ok: true,
      value: { jobId: 'j1', agentId: '', prompt: 'hi', sessionId: null, promptHash: '', runtimeConfig: {} },
    });
    expect(checkJobPayload(valid, 'j1').ok).toBe(true);
  });

  it('should read null as absent, as older servers send it, and keep runtimeConfig keys it does not know', () => {
    const checked = checkJobPayload(
      { ...valid, adapterType: null, addDirs: null, agentName: null, runtimeConfig: { model: null, command: 'x' } },
      'j1',
    );
    expect(checked).toEqual({ ok: true, value: { ...valid, runtimeConfig: { model: null, command: 'x' } } });
  });

  it('should name every bad field with what it must be and what it was', () => {
    expect(
      checkJobPayload({ ...valid, prompt: 42, addDirs: 'not-a-list', runtimeConfig: { maxTurns: 0, timeoutSec: 'soon' } }, 'j1'),
    ).toEqual({
      ok: false,
      problems: [
        'prompt must be a string (got 42)',
        'runtimeConfig.maxTurns must be a positive integer (got 0)',
        'runtimeConfig.timeoutSec must be a positive number of seconds (got "soon")',
        'addDirs must be an array of directory paths (got "not-a-list")',
      ],
    });
    expect(checkJobPayload({ ...valid, addDirs: ['/srv', ''], runtimeConfig: [] }, 'j1')).toEqual({
      ok: false,
      problems: ['runtimeConfig must be an object (got [])', 'addDirs[1] must be an array of directory paths (got "")'],
    });
  });

  it('should refuse a payload for another job, and one that is not an object', () => {
    expect(checkJobPayload({ ...valid, jobId: 'other' }, 'j1')).toEqual({
      ok: false,
      problems: ['jobId must be the claimed job\'s id j1 (got "other")'],
    });
    expect(checkJobPayload('<html>oops</html>', 'j1')).toEqual({
      ok: false,
      problems: ['the answer must be a JSON object {jobId, prompt, runtimeConfig, …} (got "<html>oops</html>")'],
    });
    expect(checkJobPayload([valid], 'j1')).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^the answer must be a JSON object/)],
    });
  });
});

describe('error body', () => {
  it('should keep each field that is what it should be, and drop the others', () => {
    expect(readErrorBody({ error: 'runner_token_expired', requestId: 'req-1', expiredAt: '2026-01-01T00:00:00Z', extra: 1 })).toEqual({
      error: 'runner_token_expired',
      requestId: 'req-1',
      expiredAt: '2026-01-01T00:00:00Z',
    });
    expect(readErrorBody({ error: 42, requestId: 'req-2' })).toEqual({ requestId: 'req-2' });
    expect(readErrorBody({ error: 'x\u001b[31m', requestId: 'r'.repeat(129) })).toEqual({});
    expect(readErrorBody(null)).toEqual({});
    expect(readErrorBody('oops')).toEqual({});
  });
});

describe('describeValue', () => {
  it('should write a value as JSON, cut to whole characters, with what would garble a terminal escaped', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue({ a: 1 })).toBe('{"a":1}');
    expect(describeValue('x'.repeat(100), 10)).toBe('"xxxxxx...');
    expect(describeValue('😀'.repeat(10), 5)).toBe('"😀...');
    expect(describeValue('a\u001b[2J\u007f\u0085\u202e\u200b\u2028b')).toBe('"a\\u001b[2J\\u007f\\u0085\\u202e\\u200b\\u2028b"');
    expect(describeValue('\ud800')).toBe('"\\ud800"');
  });

  it('should not throw on a value JSON cannot write', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(describeValue(cycle)).toBe('an object');
    expect(describeValue(JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`))).toBe('an array');
    expect(describeValue(10n)).toBe('a bigint');
  });
});

describe('events batch', () => {
  const eventId = '3f0e2a4c-8b1d-4e6f-9a7b-0c1d2e3f4a5b';
  const event = { eventId, kind: 'claude_message', ts: '2026-01-01T00:00:00.123+02:00', payload: { type: 'assistant' }, seq: 0 };
  const batch = (...events: unknown[]) => check(EventsBatchSchema, { events }, 'the body');

  it('should accept 1 to 256 events, read eventIds lower-case and drop keys the protocol does not name', () => {
    expect(batch({ ...event, eventId: eventId.toUpperCase(), extra: 1 }, { ...event, payload: 'plain text', seq: 2 ** 31 - 1 })).toEqual({
      ok: true,
      value: { events: [event, { ...event, payload: 'plain text', seq: 2 ** 31 - 1 }] },
    });
    expect(batch(...Array.from({ length: 256 }, () => event)).ok).toBe(true);
  });

  it('should refuse an empty batch and one over 256 events, saying what to do, without checking each event', () => {
    expect(batch()).toEqual({ ok: false, problems: ['events must be an array of 1 to 256 events; do not send empty batches (got [])'] });
    expect(batch(...Array.from({ length: 257 }, () => 'not an event'))).toEqual({
      ok: false,
      problems: ['events must be an array of 1 to 256 events; split it into smaller batches (got 257 items)'],
    });
  });

  it('should name each bad field by its path, with the value and what was expected', () => {
    expect(batch(event, { ...event, eventId: 'abc', kind: 'shout', ts: '2025-02-30T00:00:00Z', seq: -1, payload: 7 }, [])).toEqual({
      ok: false,
      problems: [
        'events[1].eventId must be a UUID (e.g. from crypto.randomUUID()) (got "abc")',
        'events[1].kind must be one of stdout_line, stderr_line, claude_message, claude_tool_use, claude_tool_result, claude_result, model_message, tool_call, tool_result, run_complete (got "shout")',
        'events[1].ts must be a real ISO-8601 time with an offset, like new Date().toISOString() (got "2025-02-30T00:00:00Z")',
        'events[1].payload must be a JSON object or a string (got 7)',
        "events[1].seq must be a non-negative integer (the line's position, from 0) (got -1)",
        'events[2] must be an object {eventId, kind, ts, payload?, seq?} (got [])',
      ],
    });
  });

  it('should refuse a payload a database cannot store, saying where and what to send instead', () => {
    expect(batch({ ...event, payload: { text: 'a\u0000b' } })).toEqual({
      ok: false,
      problems: [
        'events[0].payload must be storable in a database, but text: its value holds a NUL character (\\u0000), which cannot be stored as JSON; ' +
          'replace NUL characters and lone surrogates with U+FFFD (as the runner does) and send again (got {"text":"a\\u0000b"})',
      ],
    });
  });
});

describe('completion', () => {
  it('should accept what the protocol describes, reading null as "not known"', () => {
    const body = {
      status: 'failed',
      exitCode: -(2 ** 31),
      signal: null,
      elapsedSec: 365 * 24 * 3600,
      costMicros: 1e12,
      sessionId: null,
      cliVersion: '1.2',
      errorMessage: 'e'.repeat(64 * 1024),
    };
    expect(check(CompletionSchema, body)).toEqual({ ok: true, value: body });
    expect(
      check(CompletionSchema, { status: 'completed', exitCode: 0, elapsedSec: null, costMicros: null, cliVersion: null }),
    ).toMatchObject({
      ok: true,
      value: { status: 'completed', exitCode: 0, elapsedSec: undefined, costMicros: undefined, cliVersion: undefined },
    });
  });

  it('should refuse values out of range and text over its cap, showing the length of the text', () => {
    expect(
      check(
        CompletionSchema,
        { status: 'done', exitCode: 1.5, elapsedSec: -1, costMicros: 2 ** 53 - 1, signal: 'S'.repeat(257) },
        'the body',
      ),
    ).toEqual({
      ok: false,
      problems: [
        'status must be one of completed, failed, cancelled (got "done")',
        "exitCode must be an integer from -2147483648 to 2147483647 (the agent's exit code) (got 1.5)",
        'signal must be a string of at most 256 characters; shorten it (got 257 characters)',
        'elapsedSec must be a number of seconds from 0 to 31536000 (a year) (got -1)',
        'costMicros must be an integer from 0 to 1000000000000 (US dollars x 1,000,000, e.g. 0.0412 -> 41200) (got 9007199254740991)',
      ],
    });
  });
});

describe('heartbeat', () => {
  it('should take no body or an empty object, and nothing else', () => {
    expect(check(HeartbeatSchema, undefined).ok).toBe(true);
    expect(check(HeartbeatSchema, {}).ok).toBe(true);
    expect(check(HeartbeatSchema, { status: 'alive' }, 'the body')).toEqual({
      ok: false,
      problems: ['the body must be empty: no body, or {} (got {"status":"alive"})'],
    });
  });
});
