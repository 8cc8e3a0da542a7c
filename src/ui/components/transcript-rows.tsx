/**
 * The rows of a transcript: a time in the gutter (a link to the event), then a step (a tool call with its result:
 * name, what it was given, outcome and duration, folding open to its input and its output, a long output folded
 * between its first and last lines, each line with a link of its own), a piece of text, an output line, or, in
 * the raw view, the event as it came.
 * Rows re-render only when what they show changed, so a live tail of 20,000 events stays smooth.
 */
import { Component } from 'preact';
import type { StoredEvent } from '../../control-plane/types.js';
import { formatDurationMs } from '../format.js';
import { href } from '../router.js';
import { countMatches, plainText } from '../search.js';
import { itemTexts, shownInput, stepDurationMs, stepOutcome, type Item, type StepItem } from '../steps.js';
import { rawLine, type Entry } from '../transcript.js';
import { foldedLines } from '../transcript-window.js';
import { AnsiText } from './ansi-text.js';

export type Row = Item | { kind: 'raw'; key: string; event: StoredEvent };

/** What a search looks in for a row, in the order the row shows it. */
export function rowTexts(row: Row): string[] {
  return row.kind === 'raw' ? [rawLine(row.event)] : itemTexts(row);
}

/** The row's events: a step has its call's and its result's, and a link to either leads to it. */
export function rowEventIds(row: Row): string[] {
  return row.kind === 'step' && row.result && row.result.event !== row.event
    ? [row.event.eventId, row.result.event.eventId]
    : [row.event.eventId];
}

export interface RowProps {
  jobId: string;
  row: Row;
  /** Bumped when a step's result arrives. */
  rev: number;
  /** The gutter's time: since the start, or the clock. */
  time: string;
  /** The event's time in full (the gutter's tooltip). */
  timeTitle: string;
  jobRunning: boolean;
  open: boolean;
  /** All of the output, not just its first lines. */
  uncapped: boolean;
  pattern: RegExp | undefined;
  /** The current match's index among this row's, when it is in this row. */
  current: number | undefined;
  /** The row is the one a link points at; `line` the line in its output. */
  target: boolean;
  targetLine: number | undefined;
  raw: boolean;
  onToggle: (key: string) => void;
  onUncap: (key: string) => void;
}

const OUTCOME_LABEL = { ok: 'succeeded', failed: 'failed', running: 'running', 'no result': 'ended without a result' } as const;
const OUTCOME_ICON = { ok: '✓', failed: '✕', running: '', 'no result': '–' } as const;

/** Counts of matches per text, and where each text's first match falls among the row's. */
function matchOffsets(texts: string[], pattern: RegExp | undefined): { counts: number[]; firsts: number[] } {
  const counts = texts.map((text) => (pattern && text ? countMatches(plainText(text), pattern) : 0));
  const firsts: number[] = [];
  counts.reduce((sum, count, i) => ((firsts[i] = sum), sum + count), 0);
  return { counts, firsts };
}

function OutputLines(props: {
  jobId: string;
  eventId: string;
  text: string;
  /** The lines folded away, [from, to). */
  fold: [number, number] | undefined;
  onUnfold: () => void;
  pattern: RegExp | undefined;
  /** The index of its first match among the row's (none: 0). */
  first?: number;
  current: number | undefined;
  targetLine: number | undefined;
}) {
  const { jobId, eventId, text, fold, pattern, current, targetLine } = props;
  const lines = text.replace(/\n$/, '').split('\n');
  let first = props.first ?? 0;
  const shown = lines.map((line, i) => {
    const lineFirst = first;
    if (pattern) first += countMatches(plainText(line), pattern);
    if (fold && i >= fold[0] && i < fold[1]) {
      return i === fold[0] ? (
        <button key="fold" type="button" class="fold secondary small" onClick={props.onUnfold}>
          ⋯ Show {fold[1] - fold[0]} more lines
        </button>
      ) : null;
    }
    return (
      <div key={i} class={`line${targetLine === i + 1 ? ' target' : ''}`} data-line={i + 1}>
        <a class="ln" href={href(`/jobs/${jobId}`, { event: eventId, line: String(i + 1) })} tabIndex={-1} aria-label={`Line ${i + 1}`}>
          {i + 1}
        </a>
        <span class="lt">
          <AnsiText text={line} pattern={pattern} first={lineFirst} current={current} />
        </span>
      </div>
    );
  });
  return <div class="output">{shown}</div>;
}

function StepRow(props: RowProps & { row: StepItem }) {
  const { jobId, row, open, uncapped, pattern, current, onToggle, onUncap } = props;
  const outcome = stepOutcome(row, props.jobRunning);
  const duration = stepDurationMs(row);
  const texts = itemTexts(row);
  const { firsts } = matchOffsets(texts, pattern);
  const output = row.result?.entry.body ?? '';
  const lineCount = output === '' ? 0 : output.replace(/\n$/, '').split('\n').length;
  const folded = foldedLines(lineCount);
  const target = props.targetLine ?? 0;
  const fold = uncapped || (folded && target > folded[0] && target <= folded[1]) ? undefined : folded;
  const exit = row.result?.entry.exitCode;
  const bodyId = `body-${row.key}`;
  return (
    <div class={`step o-${outcome.replace(' ', '-')}`}>
      <button type="button" class="step-head" aria-expanded={open} aria-controls={bodyId} onClick={() => onToggle(row.key)}>
        <span class="chev" aria-hidden="true" />
        <span class={`outcome o-${outcome.replace(' ', '-')}`} role="img" aria-label={OUTCOME_LABEL[outcome]}>
          {OUTCOME_ICON[outcome]}
        </span>
        <span class="step-name">
          <AnsiText text={texts[0]} pattern={pattern} first={firsts[0]} current={current} />
        </span>
        {texts[1] && (
          <span class="step-summary">
            <AnsiText text={texts[1]} pattern={pattern} first={firsts[1]} current={current} />
          </span>
        )}
        <span class="step-meta">
          {exit !== undefined && exit !== 0 && <span class="exit">exit {exit}</span>}
          {lineCount > 1 && <span>{lineCount} lines</span>}
          {duration !== undefined && <span class="dur">{formatDurationMs(duration)}</span>}
          {outcome === 'running' && <span>running…</span>}
        </span>
      </button>
      {open && (
        <div class="step-body" id={bodyId}>
          {texts[2] && (
            <pre class="step-input">
              <AnsiText text={shownInput(row)} pattern={pattern} first={firsts[2]} current={current} />
            </pre>
          )}
          {row.result ? (
            output === '' ? (
              <p class="muted small">No output.</p>
            ) : (
              <OutputLines
                jobId={jobId}
                eventId={row.result.event.eventId}
                text={output}
                fold={fold}
                onUnfold={() => onUncap(row.key)}
                pattern={pattern}
                first={firsts[3]}
                current={current}
                targetLine={props.targetLine}
              />
            )
          ) : (
            <p class="muted small">{outcome === 'running' ? 'Running…' : 'The job ended before this tool gave a result.'}</p>
          )}
        </div>
      )}
    </div>
  );
}

function EntryBody({ entry, pattern, current }: { entry: Entry; pattern: RegExp | undefined; current: number | undefined }) {
  const text = <AnsiText text={entry.body} pattern={pattern} first={0} current={current} />;
  if (entry.type === 'stdout' || entry.type === 'stderr') return <div class={`out e-${entry.type}`}>{text}</div>;
  if (entry.type === 'other') {
    return (
      <div class="entry e-other">
        <div class="entry-title">{entry.title}</div>
        <pre class="entry-body">{text}</pre>
      </div>
    );
  }
  const title = entry.type === 'text' ? undefined : entry.type === 'thinking' ? 'Thinking' : entry.title;
  return (
    <div class={`entry e-${entry.type}${entry.error ? ' e-error' : ''}`}>
      {title && <div class="entry-title">{title}</div>}
      {entry.body && <div class="entry-body">{text}</div>}
    </div>
  );
}

/** Shallow prop comparison: a row renders again only when one of its props changed. */
export class TranscriptRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const keys = Object.keys(next) as (keyof RowProps)[];
    return keys.some((key) => key !== 'onToggle' && key !== 'onUncap' && next[key] !== this.props[key]);
  }

  override render() {
    const { jobId, row, time, timeTitle, target, pattern, current } = this.props;
    const kind = row.kind === 'entry' ? row.entry.type : row.kind;
    return (
      <div
        class={`row r-${kind}${target ? ' target' : ''}${row.event.kind === 'stderr_line' ? ' stderr' : ''}`}
        id={row.key.endsWith(':0') || row.kind === 'raw' ? `ev-${row.event.eventId}` : undefined}
        data-event-id={row.event.eventId}
        data-events={rowEventIds(row).join(' ')}
        data-kind={row.event.kind}
        data-key={row.key}
      >
        <a
          class="ts"
          href={href(`/jobs/${jobId}`, { event: row.event.eventId, mode: this.props.raw ? 'raw' : undefined })}
          tabIndex={-1}
          title={timeTitle}
        >
          {time}
        </a>
        <div class="row-body">
          {row.kind === 'raw' ? (
            <div class="raw-line">
              <AnsiText text={rawLine(row.event)} pattern={pattern} first={0} current={current} />
            </div>
          ) : row.kind === 'step' ? (
            <StepRow {...this.props} row={row} />
          ) : (
            <EntryBody entry={row.entry} pattern={pattern} current={current} />
          )}
        </div>
      </div>
    );
  }
}
