import { describe, expect, it } from 'vitest';
import { checkPayload } from '../../src/runner/payload.js';

const valid = { jobId: 'j1', agentId: 'a1', prompt: 'hi', sessionId: null, promptHash: 'h', runtimeConfig: { model: 'sonnet', maxTurns: 3, timeoutSec: 60 } };

describe('job payload check', () => {
  it('should accept a well-formed payload and default the optional parts', () => {
    const checked = checkPayload({ jobId: 'j1', prompt: 'hi' }, 'j1');
    expect(checked).toEqual({ ok: true, payload: { jobId: 'j1', agentId: '', prompt: 'hi', sessionId: null, runtimeConfig: {} } });
    expect(checkPayload(valid, 'j1').ok).toBe(true);
  });

  it('should name every bad field with what it must be and what it was', () => {
    const checked = checkPayload({ ...valid, prompt: 42, addDirs: 'not-a-list', runtimeConfig: { maxTurns: 0, timeoutSec: 'soon' } }, 'j1');
    expect(checked).toEqual({
      ok: false,
      problems: [
        'prompt must be a string (got 42)',
        'addDirs must be an array of directory paths (got "not-a-list")',
        'runtimeConfig.maxTurns must be a positive integer (got 0)',
        'runtimeConfig.timeoutSec must be a positive number of seconds (got "soon")',
      ],
    });
  });

  it('should refuse a payload for another job, and one that is not an object', () => {
    expect(checkPayload({ ...valid, jobId: 'other' }, 'j1')).toMatchObject({ ok: false, problems: ["jobId must be the claimed job's id j1 (got \"other\")"] });
    expect(checkPayload('<html>oops</html>', 'j1')).toEqual({ ok: false, problems: ['the claim answered "<html>oops</html>" instead of a job object'] });
  });
});
