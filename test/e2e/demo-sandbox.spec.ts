import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeSandbox } from '../../src/streams/sandbox.js';
import { RunnerProcess } from '../support/runner-process.js';

/** The README's first command, `demo`, in `auto`: in the sandbox where bubblewrap works, and without it where not, saying so. */
describe('the demo and the sandbox (end to end)', { timeout: 120_000 }, () => {
  const demo = async (env: NodeJS.ProcessEnv = {}) => {
    const run = new RunnerProcess(['demo'], { FOUNDEROS_DEMO_AGENT_STEP_MS: '20', ...env });
    const { code } = await run.exit;
    return { code, output: run.stdout + run.stderr };
  };

  it('should run its job without bubblewrap, and say the sandbox is off, why, and how to turn it on', async () => {
    // A PATH with node and nothing else: no bwrap.
    const bin = mkdtempSync(join(tmpdir(), 'demo-no-bwrap-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    try {
      const { code, output } = await demo({ PATH: bin });
      expect(output).toContain('sandbox        off: the runner says why below, and how to turn it on');
      expect(output).toMatch(
        /sandbox: off, because bwrap \(bubblewrap\) is not installed, or not on PATH; .* To contain them: install bubblewrap/,
      );
      expect(output).toMatch(/status {12}completed \(exit 0\)/);
      expect(code).toBe(0);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it.skipIf(!probeSandbox().works)('should run its job in the sandbox where bubblewrap works, and say so', async () => {
    const { code, output } = await demo();
    expect(output).toMatch(/sandbox {8}on \(bubblewrap [\d.]+\)/);
    expect(output).toMatch(/status {12}completed \(exit 0\)/);
    expect(code).toBe(0);
  });
});
