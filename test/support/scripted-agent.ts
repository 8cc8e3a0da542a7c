import { Observable } from 'rxjs';
import type { ProcessOutput, ProcessSpec } from '../../src/streams/process.js';

/** Output events for the marbles of a scripted agent. */
export const agentOutput = {
  started: (pid = 4242): ProcessOutput => ({ type: 'started', pid }),
  stdout: (text: string): ProcessOutput => ({ type: 'stdout', chunk: Buffer.from(text) }),
  stderr: (text: string): ProcessOutput => ({ type: 'stderr', chunk: Buffer.from(text) }),
  exit: (code: number | null, signal: NodeJS.Signals | null = null): ProcessOutput => ({ type: 'exit', code, signal }),
};

/** What the fake `spawn` saw of one run: its spec, whether kill$ stopped it, whether it was dropped before its end. */
export interface ScriptedRun {
  spec: ProcessSpec;
  killed: boolean;
  /** Unsubscribed before its output ended: the real one kills the group at once then. */
  cutOff: boolean;
}

/**
 * A fake `spawn` for the job pipeline: run n prints what `scripts[n]` (marbles, say) emits. A kill ends the process
 * at once, as an agent that obeys SIGTERM does: `exit` with that signal, then the end of its output. Like the real
 * one, it ignores a kill once the process has exited.
 */
export function scriptedSpawn(...scripts: Observable<ProcessOutput>[]) {
  const runs: ScriptedRun[] = [];
  const spawn = (spec: ProcessSpec): Observable<ProcessOutput> => {
    const script = scripts[runs.length];
    if (!script) throw new Error(`the agent was spawned ${runs.length + 1} times; the spec scripted ${scripts.length}`);
    const run: ScriptedRun = { spec, killed: false, cutOff: false };
    runs.push(run);
    return new Observable<ProcessOutput>((subscriber) => {
      let exited = false;
      let ended = false;
      const end = () => {
        ended = true;
        subscriber.complete();
      };
      const output = script.subscribe({
        next: (event) => {
          exited ||= event.type === 'exit';
          subscriber.next(event);
        },
        error: (error: unknown) => {
          ended = true;
          subscriber.error(error);
        },
        complete: end,
      });
      const kill = spec.kill$?.subscribe(() => {
        if (exited || run.killed) return;
        run.killed = true;
        output.unsubscribe();
        subscriber.next(agentOutput.exit(null, 'SIGTERM'));
        end();
      });
      return () => {
        if (!ended) run.cutOff = true;
        kill?.unsubscribe();
        output.unsubscribe();
      };
    });
  };
  return { spawn, runs };
}
