/**
 * The transcript's scroller: the latest rows of a long job (earlier ones on demand, and those dropped from memory
 * loaded again from the server), following the end while the reader is there, and bringing a linked line or the
 * current search match into view. It is one tab stop: its rows hold no links in the tab order, only the steps'
 * fold buttons.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { formatAbsolute, formatClock, formatOffset } from '../format.js';
import { INITIAL_WINDOW, LOAD_MORE } from '../transcript-window.js';
import { TranscriptRow, type Row } from './transcript-rows.js';

/** Within this many pixels of the bottom counts as "at the end": the view follows new rows. */
const AT_END_SLACK_PX = 40;

export type TimeMode = 'offset' | 'clock';

export interface Reveal {
  /** The row to bring into view. */
  row: number;
  /** Scroll to the current search match in it, or to its target line, or to the row itself. */
  what: 'match' | 'line' | 'row';
  /** Changes with each request, so the same row can be revealed twice. */
  nonce: number;
}

interface Props {
  jobId: string;
  rows: Row[];
  version: number;
  raw: boolean;
  jobRunning: boolean;
  /** When the job started (its first claim), for times since the start. */
  startMs: number | undefined;
  timeMode: TimeMode;
  pattern: RegExp | undefined;
  /** The current search match: its row and its index among the row's matches. */
  current: { row: number; index: number } | undefined;
  /** Rows with a match of the search in what a closed step hides: open while the search lasts. */
  openForSearch: Set<string>;
  target: { eventId: string; line: number | undefined } | undefined;
  reveal: Reveal | undefined;
  follow: boolean;
  onFollow: (follow: boolean) => void;
  /** Events dropped from memory before the held ones, and how to load them again. */
  dropped: number;
  onLoadDropped: () => void;
  /** The first row shown changed (what is before it may be dropped from memory). */
  onFirstShown: (row: Row | undefined) => void;
  empty: ComponentChildren;
  /** The last entry: how the job ended. */
  footer: ComponentChildren;
}

export function TranscriptView(props: Props) {
  const { jobId, rows, raw, pattern, current, target, follow, onFollow } = props;
  const [size, setSize] = useState(INITIAL_WINDOW);
  const [opened, setOpened] = useState(() => new Map<string, boolean>());
  const [uncapped, setUncapped] = useState(() => new Set<string>());
  const box = useRef<HTMLDivElement>(null);
  const keepFromBottom = useRef<number | undefined>(undefined);

  const reveal = props.reveal;
  const needed = reveal ? rows.length - reveal.row + 5 : 0;
  const shownSize = Math.max(size, needed);
  const shownFrom = Math.max(0, rows.length - shownSize);
  const shown = rows.slice(shownFrom);
  props.onFirstShown(shown[0]);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    if (keepFromBottom.current !== undefined) {
      el.scrollTop = el.scrollHeight - keepFromBottom.current; // "show earlier" keeps what you were reading in place
      keepFromBottom.current = undefined;
    } else if (follow) el.scrollTop = el.scrollHeight;
  }, [props.version, rows.length, raw, shownSize, follow]);

  // The box itself changes size too (a banner comes, the details open, the phone turns): still at the end.
  const following = useRef(follow);
  following.current = follow;
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => {
      if (following.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    if (!reveal) return;
    const el = box.current;
    const row = rows[reveal.row];
    if (!el || !row) return;
    const rowEl = el.querySelector(`[data-key="${CSS.escape(row.key)}"]`);
    const spot =
      (reveal.what === 'match' && rowEl?.querySelector('mark.current')) ||
      (reveal.what === 'line' && rowEl?.querySelector('.line.target')) ||
      rowEl;
    if (spot) {
      onFollow(false);
      spot.scrollIntoView({ block: 'center' });
    }
  }, [reveal?.nonce, reveal && rows[reveal.row]?.key]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < AT_END_SLACK_PX;
    if (atEnd !== follow) onFollow(atEnd);
  };
  const showEarlier = () => {
    const el = box.current;
    if (!el) return;
    keepFromBottom.current = el.scrollHeight - el.scrollTop;
    setSize(shownSize + LOAD_MORE);
  };
  const isOpenByDefault = (row: Row | undefined) =>
    row !== undefined &&
    row.kind === 'step' &&
    ((row.result?.entry.error ?? false) ||
      props.openForSearch.has(row.key) ||
      (target !== undefined && row.result?.event.eventId === target.eventId));
  // Rows keep the handlers they were first given (they re-render only when what they show changes): the handlers
  // read the latest rows and defaults through this ref.
  const latest = useRef({ rows, isOpenByDefault });
  latest.current = { rows, isOpenByDefault };
  const [handlers] = useState(() => ({
    toggle: (key: string) =>
      setOpened((before) => {
        const row = latest.current.rows.find((r) => r.key === key);
        return new Map(before).set(key, !(before.get(key) ?? latest.current.isOpenByDefault(row)));
      }),
    uncap: (key: string) => setUncapped((before) => new Set(before).add(key)),
  }));

  return (
    <div
      class={`transcript${raw ? ' raw' : ''}`}
      ref={box}
      onScroll={onScroll}
      data-follow={follow ? 'yes' : 'no'}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scroller takes the focus so that the keyboard can scroll it
      tabIndex={0}
      role="log"
      aria-live="off"
      aria-label="Transcript"
    >
      {shownFrom > 0 && (
        <button type="button" class="load-earlier secondary" onClick={showEarlier}>
          Show earlier ({shownFrom.toLocaleString('en-US')} more)
        </button>
      )}
      {shownFrom === 0 && props.dropped > 0 && (
        <button type="button" class="load-earlier secondary" onClick={props.onLoadDropped}>
          Load earlier events from the server ({props.dropped.toLocaleString('en-US')} not held)
        </button>
      )}
      {rows.length === 0 && <p class="muted empty">{props.empty}</p>}
      {shown.map((row, i) => {
        const index = shownFrom + i;
        const ts = Date.parse(row.event.ts);
        const isTarget =
          target !== undefined &&
          (row.event.eventId === target.eventId || (row.kind === 'step' && row.result?.event.eventId === target.eventId));
        return (
          <TranscriptRow
            key={row.key}
            jobId={jobId}
            row={row}
            rev={row.kind === 'step' ? row.rev : 0}
            time={props.timeMode === 'clock' || props.startMs === undefined ? formatClock(row.event.ts) : formatOffset(ts - props.startMs)}
            timeTitle={`${formatAbsolute(row.event.ts)}: link to this event`}
            jobRunning={props.jobRunning}
            open={opened.get(row.key) ?? isOpenByDefault(row)}
            uncapped={uncapped.has(row.key) || props.openForSearch.has(row.key)}
            pattern={pattern}
            current={current?.row === index ? current.index : undefined}
            target={isTarget}
            targetLine={isTarget ? target?.line : undefined}
            raw={raw}
            onToggle={handlers.toggle}
            onUncap={handlers.uncap}
          />
        );
      })}
      {props.footer}
    </div>
  );
}
