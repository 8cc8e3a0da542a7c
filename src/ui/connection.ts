/**
 * Whether the server answers, one state for the whole page: the banner, the clocks and every action follow it.
 * A failed request or a dropped stream is only a hint: a probe asks the server at once, and the page says it is
 * unreachable only when the probe fails too (a stream that reconnects in a moment is no news). While it is
 * unreachable the probe asks again every few seconds, and the first answer brings everything back.
 */
import { useEffect, useState } from 'preact/hooks';

const PROBE_EVERY_MS = 2000;
const PROBE_TIMEOUT_MS = 3000;

let reachable = true;
let probing = false;
const listeners = new Set<() => void>();

function set(next: boolean): void {
  if (next === reachable) return;
  reachable = next;
  for (const listener of listeners) listener();
}

/** Any answer from the server (even an error status of its own) shows it is there. */
export function reportAnswer(): void {
  set(true);
}

/** A request that got no answer, or a stream that dropped: ask the server whether it is still there. */
export async function reportNoAnswer(): Promise<void> {
  if (probing) return;
  probing = true;
  try {
    for (;;) {
      const answered = await fetch('/ui/session', { cache: 'no-store', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).then(
        (res) => res.status < 502,
        () => false,
      );
      set(answered);
      if (answered) return;
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
  } finally {
    probing = false;
  }
}

/** Re-renders when the server goes away or comes back. */
export function useReachable(): boolean {
  const [value, setValue] = useState(reachable);
  useEffect(() => {
    const listener = () => setValue(reachable);
    listeners.add(listener);
    listener();
    return () => void listeners.delete(listener);
  }, []);
  return value;
}
