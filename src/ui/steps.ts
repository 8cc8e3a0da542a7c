/**
 * The readable transcript as a list of items: a tool call and its result become one step (its name, what it was
 * given, how long it took, how it ended), as in a CI log; everything else is one item per entry. Built as events
 * arrive: a result finds its call by the adapter's tool id, else it takes the oldest call still waiting.
 */
import type { StoredEvent } from '../control-plane/types.js';
import type { Entry } from './transcript.js';

export interface EntryItem {
  kind: 'entry';
  /** Stable across rebuilds: the event's id and the entry's place in it. */
  key: string;
  event: StoredEvent;
  entry: Entry;
}

export interface StepItem {
  kind: 'step';
  key: string;
  /** The event that opened the step: its call, or its result when no call came first. */
  event: StoredEvent;
  name: string;
  /** What the tool was given, in a few words (the command, the file). */
  summary?: string;
  /** What the tool was given, whole. */
  input?: string;
  toolId?: string;
  result?: { event: StoredEvent; entry: Entry };
  /** Counts changes to the step (its result came): a row re-renders when it moves. */
  rev: number;
}

export type Item = EntryItem | StepItem;

export type StepOutcome = 'running' | 'ok' | 'failed' | 'no result';

export class Timeline {
  readonly items: Item[] = [];
  /** Steps by tool id: where a result (or a repeated call, as pi prints) goes. */
  private readonly byToolId = new Map<string, StepItem>();
  /** Calls without a tool id still waiting for a result, oldest first. */
  private readonly waiting: StepItem[] = [];

  constructor(private readonly entriesOf: (event: StoredEvent) => Entry[]) {}

  append(events: readonly StoredEvent[]): void {
    for (const event of events) {
      this.entriesOf(event).forEach((entry, i) => this.add(event, entry, `${event.eventId}:${i}`));
    }
  }

  private add(event: StoredEvent, entry: Entry, key: string): void {
    if (entry.type === 'tool_call') this.addCall(event, entry, key);
    else if (entry.type === 'tool_result') this.addResult(event, entry, key);
    else this.items.push({ kind: 'entry', key, event, entry });
  }

  private addCall(event: StoredEvent, entry: Entry, key: string): void {
    const known = entry.toolId === undefined ? undefined : this.byToolId.get(entry.toolId);
    if (known) {
      // The same call told again (pi prints it as a message, then as the tool starts): fill in what was missing.
      known.summary ??= entry.summary;
      known.input ??= entry.body;
      known.rev++;
      return;
    }
    const step: StepItem = {
      kind: 'step',
      key,
      event,
      name: entry.title,
      summary: entry.summary,
      input: entry.body,
      toolId: entry.toolId,
      rev: 0,
    };
    this.items.push(step);
    if (entry.toolId === undefined) this.waiting.push(step);
    else this.byToolId.set(entry.toolId, step);
  }

  private addResult(event: StoredEvent, entry: Entry, key: string): void {
    const step = entry.toolId === undefined ? this.waiting.shift() : this.byToolId.get(entry.toolId);
    if (step) {
      // A second result for the same call (pi: the tool's end, then the result message) adds nothing new.
      if (step.result && step.result.entry.body !== '') return;
      step.result = { event, entry };
      step.summary ??= entry.summary;
      if (step.name === 'Tool' || step.name === 'tool') step.name = entry.title;
      step.rev++;
      return;
    }
    // A finished tool printed as one line (opencode, codex file changes), or a result whose call is not held.
    const alone: StepItem = {
      kind: 'step',
      key,
      event,
      name: entry.title,
      summary: entry.summary,
      toolId: entry.toolId,
      result: { event, entry },
      rev: 0,
    };
    this.items.push(alone);
    if (entry.toolId !== undefined) this.byToolId.set(entry.toolId, alone);
  }
}

/** How long a step took, from its call to its result, in ms; undefined until its result came (or with no call). */
export function stepDurationMs(step: StepItem): number | undefined {
  if (!step.result || step.result.event === step.event) return undefined;
  return Math.max(0, Date.parse(step.result.event.ts) - Date.parse(step.event.ts));
}

/** How a step ended: with its result, or still running while the job runs, or never (the job ended first). */
export function stepOutcome(step: StepItem, jobRunning: boolean): StepOutcome {
  if (step.result) return step.result.entry.error ? 'failed' : 'ok';
  return jobRunning ? 'running' : 'no result';
}

/** The item's texts a search looks in and highlights, in the order the page shows them. */
export function itemTexts(item: Item): [string, ...string[]] {
  if (item.kind === 'entry') return [item.entry.body];
  return [item.name, item.summary ?? '', shownInput(item), item.result?.entry.body ?? ''];
}

/** A step's input as its body shows it: left out when its heading already says all of it (`command: ls`). */
export function shownInput(step: StepItem): string {
  if (step.input === undefined || step.summary === undefined) return step.input ?? '';
  const onlyValue = /^[\w.-]+: ([^\n]*)$/.exec(step.input)?.[1];
  return step.input === step.summary || onlyValue === step.summary ? '' : step.input;
}
