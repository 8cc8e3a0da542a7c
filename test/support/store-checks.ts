import { readdirSync, readFileSync } from 'node:fs';
import type { AdminApi, StoredEvent } from '../../src/control-plane/index.js';
import { until } from './runner-process.js';

/**
 * What the fault-injection and hostile-input suites check on the reference control plane's store, and on this machine,
 * once a job has ended: what arrived, whether anything arrived twice or out of order, and what the agent left running.
 */

/** Every stored event of a job, in the order the server keeps them (by attempt, then seq). */
export async function storedEvents(admin: Pick<AdminApi, 'listEvents'>, jobId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await admin.listEvents(jobId, { after, limit: 5000 });
    if (page.events.length === 0) return events;
    events.push(...page.events);
    after = page.nextCursor;
  }
}

/** The text of an event that carries one: a plain line, or the first text block of an agent's message. */
export function eventText(event: StoredEvent): string | undefined {
  if (typeof event.payload === 'string') return event.payload;
  const content = (event.payload as { message?: { content?: unknown } } | null)?.message?.content;
  const first = Array.isArray(content) ? (content[0] as { text?: unknown } | undefined) : undefined;
  return typeof first?.text === 'string' ? first.text : undefined;
}

/** The numbers N of the events whose text is exactly `<word> N`, in stored order. */
export function numberedLines(events: readonly StoredEvent[], word: string): number[] {
  const pattern = new RegExp(`^${word} (\\d+)$`);
  return events.flatMap((event) => {
    const match = pattern.exec(eventText(event) ?? '');
    return match ? [Number(match[1])] : [];
  });
}

export interface Delivery {
  /** Distinct numbers stored. */
  delivered: number;
  /** Stored more than once. */
  duplicates: number;
  /** Printed (0 … printed - 1) and not stored. */
  lost: number;
  /** Each stored number is greater than the one stored before it. */
  inOrder: boolean;
}

/** Compares the numbers stored with the `printed` lines numbered 0 … printed - 1 that the agent wrote. */
export function deliveryOf(stored: readonly number[], printed: number): Delivery {
  const unique = new Set(stored);
  return {
    delivered: unique.size,
    duplicates: stored.length - unique.size,
    // A line may be stored that the agent's count had not reached yet (it counts after writing): only the printed count.
    lost: Array.from({ length: printed }, (_, line) => line).filter((line) => !unique.has(line)).length,
    inOrder: stored.every((line, index) => index === 0 || line > stored[index - 1]!),
  };
}

/**
 * Processes that still carry the job's id in their environment: the agent and anything it started. Waits up to
 * `graceMs` for them to go, since the runner reports a job before the last of its group may have been reaped.
 */
export async function orphansOf(jobId: string, graceMs = 3_000): Promise<number> {
  let survivors: number[] = [];
  await until(
    () => {
      survivors = readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`FOUNDEROS_JOB_ID=${jobId}`);
          } catch {
            return false;
          }
        })
        .map(Number);
      return survivors.length === 0;
    },
    graceMs,
    () => '',
  ).catch(() => undefined);
  return survivors.length;
}
