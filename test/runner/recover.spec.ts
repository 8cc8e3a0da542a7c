import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, of, queueScheduler, throwError, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { CompletionBody, RunnerEvent } from '../../src/protocol/types.js';
import { STOPPED_MID_JOB, recoverLeftovers } from '../../src/runner/recover.js';
import { ApiError } from '../../src/streams/http/errors.js';
import type { RunnerApi } from '../../src/streams/http/runner-api.js';
import { openJobSpool } from '../../src/streams/spool.js';
import type { Logger } from '../../src/runner/logger.js';

const SERVER = 'https://control.example.com';
const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const event = (seq: number, kind: RunnerEvent['kind'], payload: RunnerEvent['payload']): RunnerEvent => ({
  eventId: `e${seq}`,
  kind,
  ts: '2026-11-25T00:00:00.000Z',
  payload,
  seq,
});

/**
 * Records what recovery sends: each events body and the completion. A body that is not JSON gets a 400, as from a
 * server, and so does a batch holding a line `refuse me` (413, as for a body too large).
 */
function recordingApi() {
  const sent: { events: RunnerEvent[][]; refused: string[]; completion?: CompletionBody; completions: Record<string, CompletionBody> } = {
    events: [],
    refused: [],
    completions: {},
  };
  const api: Partial<RunnerApi> = {
    appendEvents: (_jobId, body) => {
      try {
        const { events } = JSON.parse(body as string) as { events: RunnerEvent[] };
        if (events.some((sentEvent) => sentEvent.payload === 'refuse me')) {
          sent.refused.push(body as string);
          return throwError(() => new ApiError(413, 'POST events', 'payload_too_large', 'req-413', ''));
        }
        sent.events.push(events);
      } catch (error) {
        if (error instanceof ApiError) throw error;
        sent.refused.push(body as string);
        return throwError(() => new ApiError(400, 'POST events', 'invalid_json', undefined, ''));
      }
      return of({ kind: 'accepted' as const });
    },
    complete: (jobId, body) => {
      sent.completion = body;
      sent.completions[jobId] = body;
      return of({ kind: 'accepted' as const });
    },
  };
  return { api: api as RunnerApi, sent };
}

const recover = (spoolDir: string, api: RunnerApi, log: Logger = silentLog) =>
  lastValueFrom(
    recoverLeftovers({
      api,
      log,
      retry: { initialDelayMs: 1, maxDelayMs: 1 },
      scheduler: queueScheduler,
      spoolDir,
      serverUrl: SERVER,
      isRunnerAlive: () => false,
    }).pipe(toArray()),
  );

describe('recoverLeftovers', () => {
  it('should spool and send the lines a dead runner never spooled, from each stream past what its events account for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recover-spec-'));
    const spool = openJobSpool(dir, 'job-1', SERVER, 999_999);
    spool.recordAgent(999_999_999, 'claude_local');
    // Delivered before the crash: two stdout lines and one stderr line.
    spool.appendBatch(JSON.stringify({ events: [event(0, 'claude_message', { type: 'system' }), event(1, 'stderr_line', 'warn 1')] }));
    spool.ack(0);
    // Spooled, not yet accepted.
    spool.appendBatch(JSON.stringify({ events: [event(2, 'stdout_line', 'plain 1')] }));
    // Printed: the same lines, then more, the last one unfinished when the agent died.
    writeFileSync(
      spool.output.stdout,
      '{"type":"system"}\nplain 1\n{"type":"assistant"}\nplain 2\n{"type":"result","is_error":false}\nhalf a li',
    );
    writeFileSync(spool.output.stderr, 'warn 1\nwarn 2\n');

    const { api, sent } = recordingApi();
    const [result] = await recover(dir, api);

    const delivered = sent.events.flat();
    expect(delivered.map(({ seq, kind, payload }) => ({ seq, kind, payload }))).toEqual([
      { seq: 2, kind: 'stdout_line', payload: 'plain 1' },
      { seq: 3, kind: 'claude_message', payload: { type: 'assistant' } },
      { seq: 4, kind: 'stdout_line', payload: 'plain 2' },
      { seq: 5, kind: 'claude_result', payload: { type: 'result', is_error: false } },
      { seq: 6, kind: 'stdout_line', payload: 'half a li' },
      { seq: 7, kind: 'stderr_line', payload: 'warn 2' },
    ]);
    expect(new Set(delivered.map((sentEvent) => sentEvent.eventId)).size).toBe(delivered.length);
    expect(sent.completion).toMatchObject({ status: 'failed', errorMessage: STOPPED_MID_JOB });
    expect(result).toMatchObject({ jobId: 'job-1', outcome: 'failed', eventsSent: 6 });
  });

  it('should survive a corrupt batch in the spool, and deliver its lines from the files instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recover-spec-'));
    const spool = openJobSpool(dir, 'job-3', SERVER, 999_999);
    spool.appendBatch(JSON.stringify({ events: [event(0, 'stdout_line', 'one')] }));
    spool.appendBatch('{"events":[garbage');
    writeFileSync(spool.output.stdout, 'one\ntwo\nthree\n');

    const { api, sent } = recordingApi();
    const [result] = await recover(dir, api);
    expect(sent.refused).toEqual(['{"events":[garbage']);
    expect(sent.events.flat().map(({ seq, payload }) => ({ seq, payload }))).toEqual([
      { seq: 0, payload: 'one' },
      { seq: 1, payload: 'two' },
      { seq: 2, payload: 'three' },
    ]);
    expect(sent.completion).toMatchObject({ status: 'failed', errorMessage: STOPPED_MID_JOB });
    expect(result).toMatchObject({ outcome: 'failed', eventsSent: 3 });
  });

  it('should never send again a batch set aside before the crash, and report every lost event in the completion', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recover-spec-'));
    const spool = openJobSpool(dir, 'job-4', SERVER, 999_999);
    spool.appendBatch(JSON.stringify({ events: [event(0, 'stdout_line', 'one'), event(1, 'stdout_line', 'two')] }));
    spool.setAside({ index: 0, events: 2, why: 'failing', status: 500, code: 'internal_error', requestId: 'req-500' });
    spool.appendBatch(JSON.stringify({ events: [event(2, 'stdout_line', 'refuse me')] }));
    spool.appendBatch(JSON.stringify({ events: [event(3, 'stdout_line', 'four')] }));
    spool.recordCompletion({ status: 'completed', exitCode: 0, errorMessage: null });

    const { api, sent } = recordingApi();
    const [result] = await recover(dir, api);
    expect(sent.events.flat().map((sentEvent) => sentEvent.payload)).toEqual(['four']);
    expect(sent.refused).toHaveLength(1);
    expect(sent.completion).toMatchObject({
      status: 'failed',
      exitCode: 0,
      errorMessage:
        'the agent finished (exit 0), but 3 events in 2 batches were not accepted by the server ' +
        '(500 internal_error 8 times in a row, requestId req-500; 413 payload_too_large, requestId req-413); the transcript is incomplete',
    });
    expect(result).toMatchObject({ outcome: 'failed', eventsSent: 1 });
  });

  it('should remove the instructions file a killed run left beside its spool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recover-spec-'));
    const spool = openJobSpool(dir, 'job-5', SERVER, 999_999);
    writeFileSync(spool.instructionsPath, 'secret instructions', { mode: 0o600 });
    writeFileSync(spool.output.stdout, '');
    await recover(dir, recordingApi().api);
    expect(existsSync(spool.instructionsPath)).toBe(false);
  });

  it('should read no output file when the completion was spooled: every line was already in a batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recover-spec-'));
    const spool = openJobSpool(dir, 'job-2', SERVER, 999_999);
    spool.appendBatch(JSON.stringify({ events: [event(0, 'stdout_line', 'only line')] }));
    spool.recordCompletion({ status: 'completed', exitCode: 0 });
    writeFileSync(spool.output.stdout, 'only line\n');

    const { api, sent } = recordingApi();
    await recover(dir, api);
    expect(sent.events.flat().map((sentEvent) => sentEvent.payload)).toEqual(['only line']);
    expect(sent.completion).toMatchObject({ status: 'completed', exitCode: 0 });
  });

  describe('a leftover that recovery cannot deliver', () => {
    const errors: string[] = [];
    const log: Logger = { ...silentLog, error: (message, fields) => void errors.push(`${message} ${JSON.stringify(fields ?? {})}`) };

    it('should quarantine it and fail its job, then deliver the next leftover', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'recover-spec-'));
      const broken = openJobSpool(dir, 'job-broken', SERVER, 999_999);
      broken.appendBatch(JSON.stringify({ events: [event(0, 'stdout_line', 'one')] }));
      // Reading the agent's output throws (EISDIR): a disk in a bad state, a bug, anything recovery did not expect.
      mkdirSync(broken.output.stdout);
      const fine = openJobSpool(dir, 'job-fine', SERVER, 999_999);
      fine.appendBatch(JSON.stringify({ events: [event(0, 'stdout_line', 'only line')] }));
      fine.recordCompletion({ status: 'completed', exitCode: 0 });

      const { api, sent } = recordingApi();
      const results = await recover(dir, api, log);
      expect(results).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ jobId: 'job-broken', outcome: 'failed' }),
          expect.objectContaining({ jobId: 'job-fine', outcome: 'completed' }),
        ]),
      );
      expect(sent.completions['job-broken']).toMatchObject({
        status: 'failed',
        errorMessage: expect.stringMatching(/^the runner restarted and could not recover this job \(EISDIR.*quarantine/),
      });
      expect(sent.completions['job-fine']).toMatchObject({ status: 'completed' });
      // Out of the way of the next start, kept for a person to look at.
      expect(readdirSync(dir).filter((name) => name.endsWith('.ndjson'))).toEqual([]);
      expect(readdirSync(join(dir, 'quarantine')).sort()).toEqual([
        expect.stringMatching(/^job-broken\.ndjson\.\d+$/),
        expect.stringMatching(/^job-broken\.stdout\.\d+$/),
      ]);
      expect(errors.join('\n')).toContain('its spool was quarantined');
      expect(await recover(dir, api, log)).toEqual([]);
    });

    it.each([
      ['..', '{"t":"job","jobId":"..","serverUrl":"https://control.example.com","runnerPid":999999}'],
      ['a lone surrogate', '{"t":"job","jobId":"j\\ud800","serverUrl":"https://control.example.com","runnerPid":999999}'],
      ['a number', '{"t":"job","jobId":42,"serverUrl":"https://control.example.com","runnerPid":999999}'],
    ])('should quarantine, without a word to the server, a spool whose job id is %s', async (_what, header) => {
      const dir = mkdtempSync(join(tmpdir(), 'recover-spec-'));
      writeFileSync(join(dir, 'hand-edited.ndjson'), `${header}\n{"events":[]}\n`);
      const { api, sent } = recordingApi();
      expect(await recover(dir, api, log)).toEqual([]);
      expect(sent).toMatchObject({ events: [], refused: [], completions: {} });
      expect(existsSync(join(dir, 'hand-edited.ndjson'))).toBe(false);
      expect(readdirSync(join(dir, 'quarantine'))).toHaveLength(1);
    });

    it('should quarantine a spool file it cannot read, and deliver the others', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'recover-spec-'));
      mkdirSync(join(dir, 'a-directory.ndjson'));
      openJobSpool(dir, 'job-fine', SERVER, 999_999).recordCompletion({ status: 'completed', exitCode: 0 });
      const { api, sent } = recordingApi();
      expect(await recover(dir, api, log)).toEqual([expect.objectContaining({ jobId: 'job-fine', outcome: 'completed' })]);
      expect(Object.keys(sent.completions)).toEqual(['job-fine']);
      expect(readdirSync(join(dir, 'quarantine'))).toEqual([expect.stringMatching(/^a-directory\.ndjson\.\d+$/)]);
    });
  });
});
