/** `founderos-runner demo --keep` leaves its control plane up, so a newcomer can open the job in the dashboard. */
import { expect, it } from 'vitest';
import { RunnerProcess, until } from '../support/runner-process.js';

it('should print the dashboard URL, keep serving it after the demo job, and stop on Ctrl-C', async () => {
  const demo = new RunnerProcess(['demo', '--keep'], { FOUNDEROS_DEMO_AGENT_STEP_MS: '20' });
  try {
    await until(
      () => demo.stdout.includes('keeps running'),
      60_000,
      () => `the demo never said it keeps running:\n${demo.stdout}\n${demo.stderr}`,
    );
    const dashboard = /dashboard\s+(http:\/\/\S+)\s+\(log in with the admin key in (\S+)\)/.exec(demo.stdout);
    expect(dashboard, demo.stdout).not.toBeNull();
    const jobLink = /Open the job you just watched: (\S+)/.exec(demo.stdout)![1]!;
    expect(jobLink.startsWith(`${dashboard![1]}#/jobs/`)).toBe(true);
    const page = await fetch(dashboard![1]!);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/\/ui\/app-[A-Z0-9]{8}\.js/);
    demo.signal('SIGINT');
    expect((await demo.exit).code).toBe(0);
  } finally {
    await demo.stop();
  }
});
