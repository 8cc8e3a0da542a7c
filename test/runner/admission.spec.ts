import { describe, expect, it } from 'vitest';
import { claudeAdapter, processAdapter } from '../../src/agents/index.js';
import type { JobPayload } from '../../src/protocol/types.js';
import { admit } from '../../src/runner/admission.js';
import { job } from '../agents/support.js';

const INSTRUCTIONS = 'Be terse. Ünïcode ✓ — 日本語 🚀\n';
const claimed = (overrides: Partial<JobPayload> = {}) => ({ kind: 'claimed' as const, payload: job(overrides) });
const withInstructions = (instructionsFileContent: string) => claimed({ runtimeConfig: { instructionsFileContent } });
const policy = { allowProcessJobs: false };

describe('admit', () => {
  it('should admit a job the runner can run, with the adapter that runs it', () => {
    const admission = admit(claimed(), policy);
    expect(admission).toEqual({ admitted: true, job: { payload: job(), adapter: claudeAdapter } });
  });

  it('should decode the instructions from base64 to the bytes that were sent', () => {
    const admission = admit(withInstructions(Buffer.from(INSTRUCTIONS).toString('base64')), policy);
    expect(admission.admitted && admission.job.instructions?.toString('utf8')).toBe(INSTRUCTIONS);
  });

  it('should check and decode the megabytes of instructions a claim may carry', () => {
    const bytes = Buffer.alloc(8 * 1024 * 1024, 0xc3);
    const admission = admit(withInstructions(bytes.toString('base64')), policy);
    expect(admission.admitted && admission.job.instructions?.equals(bytes)).toBe(true);
    expect(admit(withInstructions(`${bytes.toString('base64')}!`), policy).admitted).toBe(false);
  });

  it.each([
    ['text sent as it is', 'Be terse.'],
    ['text without spaces that is not whole groups of four', 'Terse'],
    ['the URL-safe alphabet', Buffer.from('>>>???').toString('base64url')],
    ['non-ASCII text', INSTRUCTIONS],
    ['base64 wrapped in lines', `${Buffer.from(INSTRUCTIONS).toString('base64')}\n${Buffer.from(INSTRUCTIONS).toString('base64')}`],
    ['base64 without its padding', Buffer.from('Be terse').toString('base64').replace(/=+$/, '')],
  ])('should refuse instructions that are not base64 (%s), naming the field', (_what, content) => {
    const admission = admit(withInstructions(content), policy);
    expect(admission.admitted).toBe(false);
    expect(!admission.admitted && admission.errorMessage).toMatch(
      /^runtimeConfig\.instructionsFileContent must be base64 \(RFC 4648: .*\), as the protocol sends the instructions file \(got .*\), so no agent was started/s,
    );
  });

  it('should treat empty instructions as none', () => {
    const admission = admit(withInstructions(''), policy);
    expect(admission).toEqual({ admitted: true, job: expect.not.objectContaining({ instructions: expect.anything() }) });
  });

  it('should refuse a malformed payload, an adapter it lacks and a process job its owner did not allow, saying who can fix it', () => {
    const malformed = admit({ kind: 'malformed', problems: ['prompt must be a string (got nothing)'], requestId: 'req-1' }, policy);
    expect(malformed).toEqual({
      admitted: false,
      errorMessage:
        'malformed job payload (requestId req-1), so no agent was started: prompt must be a string (got nothing). ' +
        "Report this to the control plane's operators.",
    });
    expect(admit(claimed({ adapterType: 'hermes_local' }), policy)).toMatchObject({
      admitted: false,
      errorMessage: expect.stringMatching(/^adapter type "hermes_local" is not supported by this runner/),
    });
    expect(admit(claimed({ adapterType: 'process' }), policy)).toMatchObject({
      admitted: false,
      errorMessage: expect.stringContaining('--allow-process-jobs'),
    });
    expect(admit(claimed({ adapterType: 'process' }), { allowProcessJobs: true })).toMatchObject({
      admitted: true,
      job: { adapter: processAdapter },
    });
  });
});
