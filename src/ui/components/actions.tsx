/**
 * Buttons that change something on the server: disabled while the server is unreachable (nothing would happen),
 * and, for what cannot be undone, a second click that says what will happen ("Yes, cancel this job") beside a
 * way out. The confirmation takes the focus, and Escape backs out of it.
 */
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useReachable } from '../connection.js';

interface ActionProps {
  /** Does it; when it returns a promise, the button waits for it and shows a rejection's message beside itself. */
  onClick: () => unknown;
  children: ComponentChildren;
  class?: string;
  title?: string;
  disabled?: boolean;
}

export function Action({ onClick, children, class: className, title, disabled }: ActionProps) {
  const reachable = useReachable();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const click = async () => {
    setBusy(true);
    try {
      await onClick();
      setError('');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        class={className}
        title={reachable ? title : 'The server is not answering; this waits until it is back.'}
        disabled={disabled || busy || !reachable}
        onClick={click}
      >
        {children}
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

/** A form's submit button, disabled while the server is unreachable. */
export function Submit({ children }: { children: ComponentChildren }) {
  const reachable = useReachable();
  return (
    <button type="submit" disabled={!reachable}>
      {children}
    </button>
  );
}

interface ConfirmProps {
  /** The button's text ("Cancel"). */
  label: ComponentChildren;
  /** The confirming button's text, saying what will happen ("Yes, cancel this job"). */
  confirm: ComponentChildren;
  /** The way out ("Keep it running"). */
  keep: string;
  /** Does it; a rejection's message is shown beside the buttons. */
  onConfirm: () => Promise<unknown>;
  class?: string;
  disabled?: boolean;
  title?: string;
}

export function ConfirmAction({ label, confirm, keep, onConfirm, class: className = 'danger', disabled, title }: ConfirmProps) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState('');
  const yes = useRef<HTMLSpanElement>(null);
  // Before the page paints: the question takes the focus, and an Escape pressed at once is heard.
  useLayoutEffect(() => {
    if (!confirming) return;
    yes.current?.querySelector('button')?.focus();
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && setConfirming(false);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [confirming]);
  const run = async () => {
    setConfirming(false);
    try {
      await onConfirm();
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <span class="confirm">
      {confirming ? (
        <span ref={yes} class="confirm-buttons">
          <Action class={className} onClick={run}>
            {confirm}
          </Action>
          <button type="button" class={className.includes('small') ? 'small secondary' : 'secondary'} onClick={() => setConfirming(false)}>
            {keep}
          </button>
        </span>
      ) : (
        <Action class={className} disabled={disabled} title={title} onClick={() => setConfirming(true)}>
          {label}
        </Action>
      )}
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
