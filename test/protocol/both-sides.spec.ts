/**
 * The control plane stores a job, the runner reads it back from its claim: a job the server would store and the runner
 * then refuse fails at the runner, after the claim, where nobody asked for it. Both read how a job runs through the
 * same schema entries (src/protocol/schemas.ts), so each malformed body below is refused by both, naming one field.
 */
import { describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../../src/control-plane/errors.js';
import { parseEnqueueInput } from '../../src/control-plane/validation.js';
import { checkJobPayload } from '../../src/protocol/schemas.js';

/** One body that is both an enqueue request (companyId, agentName, …) and a claim answer (jobId, …): each side ignores the other's keys. */
const job = {
  companyId: 'acme',
  agentName: 'Sarah',
  jobId: 'j1',
  prompt: 'fix the build',
  runtimeConfig: { model: 'sonnet', maxTurns: 3 },
};

/** The server's refusal of `body` as an enqueued job: its status and message. */
function serverRefusal(body: unknown): { status: number; message: string } | undefined {
  try {
    parseEnqueueInput(body);
    return undefined;
  } catch (err) {
    if (!(err instanceof ControlPlaneError)) throw err;
    return { status: err.status, message: err.message };
  }
}

describe('a malformed job, as the control plane enqueues it and as the runner reads its claim', () => {
  it('should be taken by both when it is well formed', () => {
    expect(serverRefusal(job)).toBeUndefined();
    expect(checkJobPayload(job, 'j1').ok).toBe(true);
  });

  it.each([
    ['a turn count of 0', { runtimeConfig: { maxTurns: 0 } }, 'runtimeConfig.maxTurns', '0'],
    ['a fractional turn count', { runtimeConfig: { maxTurns: 1.5 } }, 'runtimeConfig.maxTurns', '1.5'],
    ['a turn count past int32', { runtimeConfig: { maxTurns: 2 ** 31 } }, 'runtimeConfig.maxTurns', '2147483648'],
    ['a timeout in words', { runtimeConfig: { timeoutSec: 'soon' } }, 'runtimeConfig.timeoutSec', '"soon"'],
    ['a negative timeout', { runtimeConfig: { timeoutSec: -5 } }, 'runtimeConfig.timeoutSec', '-5'],
    ['a model that is a number', { runtimeConfig: { model: 5 } }, 'runtimeConfig.model', '5'],
    ['instructions that are an object', { runtimeConfig: { instructionsFileContent: {} } }, 'runtimeConfig.instructionsFileContent', '{}'],
    ['a runtimeConfig that is a list', { runtimeConfig: ['sonnet'] }, 'runtimeConfig', '["sonnet"]'],
    ['a prompt that is a number', { prompt: 42 }, 'prompt', '42'],
  ])('should refuse %s on both sides, naming %s and the value', (_what, change, field, shown) => {
    const body = { ...job, ...change };
    const server = serverRefusal(body);
    expect(server).toEqual({ status: 400, message: expect.stringContaining(field) });
    expect(server!.message).toContain(shown);
    const runner = checkJobPayload(body, 'j1');
    expect(runner).toEqual({
      ok: false,
      problems: [
        expect.stringMatching(new RegExp(`^${field.replace('.', '\\.')} must be .*\\(got ${shown.replace(/[[\]{}.()]/g, '\\$&')}\\)$`)),
      ],
    });
  });
});
