/**
 * A job, live: its record and its events from the job stream, held within a budget (held-events.ts), and the
 * readable steps built from them as they arrive (steps.ts). Kept outside Preact's state so 20,000 events are
 * appended, not copied; `version` tells the page something changed.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { EventPage, JobDetail, StoredEvent } from '../control-plane/types.js';
import { api, openStream } from './api.js';
import { HeldEvents } from './held-events.js';
import { Timeline } from './steps.js';
import { toEntries, type Entry } from './transcript.js';

/** How much of a transcript the page holds, as the bytes it came in: beyond it, the oldest unseen pages go. */
export const HELD_BUDGET_BYTES = 24 * 1024 * 1024;

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended';

/** One job's events and the readable items made of them. */
export class JobTranscript {
  readonly held = new HeldEvents(HELD_BUDGET_BYTES);
  private readonly entries = new WeakMap<StoredEvent, Entry[]>();
  timeline = this.newTimeline();

  private entriesOf = (event: StoredEvent): Entry[] => {
    let entries = this.entries.get(event);
    if (!entries) this.entries.set(event, (entries = toEntries(event)));
    return entries;
  };

  private newTimeline(): Timeline {
    return new Timeline((event) => this.entriesOf(event));
  }

  add(events: StoredEvent[], cursor: string, bytes: number): void {
    this.held.add(events, cursor, bytes);
    this.timeline.append(events);
  }

  /** Drops what is over the budget and before page `keepFrom`; the steps are built again from what is left. */
  trim(keepFrom: number): void {
    if (this.held.trim(keepFrom)) this.rebuild();
  }

  /** Loads the dropped page just before the held ones again; false when none was dropped. */
  async loadDropped(jobId: string): Promise<boolean> {
    const index = this.held.lastDroppedBeforeHeld();
    const page = this.held.pages[index];
    if (page === undefined) return false;
    const events: StoredEvent[] = [];
    let after = page.after;
    let bytes = 0;
    // A server may cut a page shorter (by bytes): ask on from where it stopped until the page is whole.
    while (events.length < page.count) {
      const query = new URLSearchParams({ limit: String(page.count - events.length) });
      if (after !== undefined) query.set('after', after);
      const next = await api<EventPage>('GET', `/api/admin/jobs/${encodeURIComponent(jobId)}/events?${query}`);
      if (next.events.length === 0) break;
      events.push(...next.events);
      bytes += JSON.stringify(next.events).length;
      after = next.nextCursor;
    }
    this.held.restore(index, events, bytes);
    this.rebuild();
    return true;
  }

  private rebuild(): void {
    this.timeline = this.newTimeline();
    this.timeline.append(this.held.events());
  }
}

export function useJobStream(jobId: string) {
  const [job, setJob] = useState<JobDetail>();
  const [error, setError] = useState('');
  const [state, setState] = useState<StreamState>('connecting');
  const [version, setVersion] = useState(0);
  const transcript = useMemo(() => new JobTranscript(), [jobId]);
  /** The page of the first row on screen: nothing from there on is dropped. */
  const keepFrom = useRef(0);

  useEffect(() => {
    setJob(undefined);
    setError('');
    setState('connecting');
    // Pages that arrive within one frame are shown in one render.
    let frame = 0;
    const changed = () => {
      frame ||= requestAnimationFrame(() => {
        frame = 0;
        setVersion((v) => v + 1);
      });
    };
    const source = openStream(`/api/admin/live/jobs/${encodeURIComponent(jobId)}`, {
      job: (data) => setJob(data as JobDetail),
      events: (data, message) => {
        transcript.add(data as StoredEvent[], message.lastEventId, message.data.length);
        transcript.trim(keepFrom.current);
        changed();
      },
      end: () => {
        source.close();
        setState('ended');
      },
    });
    source.addEventListener('open', () => setState('live'));
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        setState('ended');
        api('GET', `/api/admin/jobs/${encodeURIComponent(jobId)}`).catch((err: Error) => setError(err.message));
      } else setState('reconnecting');
    });
    return () => {
      source.close();
      cancelAnimationFrame(frame);
    };
  }, [jobId, transcript]);

  const loadDropped = async () => {
    try {
      if (await transcript.loadDropped(jobId)) setVersion((v) => v + 1);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return { job, error, state, version, transcript, keepFrom, loadDropped };
}
