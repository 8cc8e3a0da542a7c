import { Observable, share } from 'rxjs';

/**
 * The signals a process receives, as a hot Observable shared by every subscriber. While anyone
 * listens, Node's default "exit on SIGINT/SIGTERM" is off: the pipeline decides what a signal means.
 */
export function processSignals(
  signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'],
  target: Pick<NodeJS.Process, 'on' | 'off'> = process,
): Observable<NodeJS.Signals> {
  return new Observable<NodeJS.Signals>((subscriber) => {
    const handler = (signal: NodeJS.Signals) => subscriber.next(signal);
    for (const signal of signals) target.on(signal, handler);
    return () => {
      for (const signal of signals) target.off(signal, handler);
    };
  }).pipe(share());
}
