import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  Observable,
  catchError,
  concatMap,
  defaultIfEmpty,
  defer,
  first,
  map,
  mergeMap,
  of,
  race,
  retry,
  take,
  tap,
  throwError,
  timeout,
  timer,
  zip,
  type MonoTypeOperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { AnswerTimeoutError } from './errors.js';
import type { ServerHealth } from './server-health.js';

/** The timings of {@link lively}, in ms. */
export const LIVENESS = {
  /** The first deadline of an exchange: enough for a small batch to reach a healthy server many times over… */
  firstDeadlineMs: 3_000,
  /** …plus this much per MiB of body, for the upload. */
  perMiBMs: 1_000,
  /** How often the path is probed while it is down. */
  probeEveryMs: 1_000,
  /** How long a probe may take before it counts as unanswered. */
  probeTimeoutMs: 2_000,
  /** How long one attempt waits for the path before it fails to the pipeline, which logs and backs off. */
  maxWaitForPathMs: 5 * 60_000,
};

export type LivenessTimings = typeof LIVENESS;

/** What {@link lively} needs besides the exchange. */
export interface Liveness {
  timings: LivenessTimings;
  /** Asks whether the server answers at all: emits once it does (any answer), errors when it cannot be reached. */
  probe: () => Observable<unknown>;
  /** Told when the path goes down and comes back. */
  health: ServerHealth;
  scheduler: SchedulerLike;
}

/** Neither the exchange nor a probe was answered. */
export class PathDownError extends Error {
  override readonly name = 'PathDownError';
  constructor(route: string) {
    super(`no answer to ${route}, nor to a probe: the network path to the server is down`);
  }
}

/** The first deadline of an exchange whose body is `bodyBytes` long, within `maxMs`. */
export function firstDeadlineMs(timings: LivenessTimings, bodyBytes: number, maxMs: number): number {
  return Math.min(maxMs, timings.firstDeadlineMs + (timings.perMiBMs * bodyBytes) / (1024 * 1024));
}

/**
 * `exchange$` (which sends the same bytes at each subscription) in two stages: an attempt with a deadline, then a
 * wait for the path when the path is down. The pipeline retries by subscribing again, so the deadline lives as long
 * as the request: it doubles, up to `maxDeadlineMs`, after each attempt that a server answering probes outlasted.
 */
export function lively<T>(
  route: string,
  exchange$: Observable<T>,
  deadlines: { firstMs: number; maxMs: number },
  liveness: Liveness,
): Observable<T> {
  let deadlineMs = deadlines.firstMs;
  const attempt$ = defer(() =>
    exchangeWithin(route, exchange$, deadlineMs, liveness).pipe(
      tap({
        error: (error: unknown) => {
          if (error instanceof AnswerTimeoutError) deadlineMs = Math.min(deadlineMs * 2, Math.max(deadlines.maxMs, deadlineMs));
        },
      }),
    ),
  );
  return attempt$.pipe(resendWhenPathBack(route, liveness));
}

/**
 * One exchange, dropped at `deadlineMs` without an answer. A probe sent at half the deadline tells a slow server (the
 * probe was answered: {@link AnswerTimeoutError}, for the pipeline to retry) from a dead path (it was not:
 * {@link PathDownError}). A connection refused or cut is a dead path too when a probe goes unanswered, and the
 * exchange's own error when one is answered.
 */
function exchangeWithin<T>(route: string, exchange$: Observable<T>, deadlineMs: number, liveness: Liveness): Observable<T> {
  const { scheduler, timings } = liveness;
  const halfMs = deadlineMs / 2;
  const settled$ = exchange$.pipe(
    take(1),
    map((value): Settled<T> => ({ kind: 'answered', value })),
    catchError((error: unknown) => of<Settled<T>>({ kind: 'failed', error })),
  );
  const silent$ = zip(timer(deadlineMs, scheduler), timer(halfMs, scheduler).pipe(concatMap(() => answers(liveness, halfMs)))).pipe(
    map(([, reachable]): Settled<T> => ({ kind: 'silent', reachable })),
  );
  return race(settled$, silent$).pipe(
    take(1),
    concatMap((settled) => {
      if (settled.kind === 'answered') return of(settled.value);
      if (settled.kind === 'silent')
        return throwError(() => (settled.reachable ? new AnswerTimeoutError(route, deadlineMs) : new PathDownError(route)));
      const { error } = settled;
      // fetch fails with a TypeError when the connection is refused or cut; anything else is the exchange's own.
      if (!(error instanceof TypeError)) return throwError(() => error);
      return answers(liveness, timings.probeTimeoutMs).pipe(concatMap((up) => throwError(() => (up ? error : new PathDownError(route)))));
    }),
  );
}

type Settled<T> = { kind: 'answered'; value: T } | { kind: 'failed'; error: unknown } | { kind: 'silent'; reachable: boolean };

/**
 * The stage that waits out a dead path: after a {@link PathDownError}, probe every `probeEveryMs` until one is
 * answered, then subscribe again (the same bytes), at once: no backoff grew while the path was down. After
 * `maxWaitForPathMs` (counted from this subscription) it fails with {@link AnswerTimeoutError}, to the pipeline.
 */
export function resendWhenPathBack<T>(route: string, liveness: Liveness): MonoTypeOperatorFunction<T> {
  const { scheduler, timings, health } = liveness;
  return (attempt$) =>
    defer(() => {
      const since = scheduler.now();
      return attempt$.pipe(
        retry({
          delay: (error: unknown) => {
            if (!(error instanceof PathDownError)) return throwError(() => error);
            health.pathDown(scheduler.now());
            const leftMs = timings.maxWaitForPathMs - (scheduler.now() - since);
            return waitForPath(liveness, leftMs).pipe(
              catchError(() => throwError(() => new AnswerTimeoutError(route, scheduler.now() - since))),
            );
          },
        }),
      );
    });
}

/** Emits once a probe (one every `probeEveryMs`, each on its own) is answered; errors after `maxMs`. */
function waitForPath(liveness: Liveness, maxMs: number): Observable<unknown> {
  const { scheduler, timings, health } = liveness;
  if (maxMs <= 0) return throwError(() => new Error('no time left to wait for the path'));
  return timer(0, timings.probeEveryMs, scheduler).pipe(
    mergeMap(() => answers(liveness, timings.probeTimeoutMs)),
    first((up) => up),
    tap(() => health.pathBack(scheduler.now())),
    timeout({ first: maxMs, scheduler }),
  );
}

/** Whether a probe is answered within `withinMs`. */
function answers({ probe, scheduler }: Liveness, withinMs: number): Observable<boolean> {
  return probe().pipe(
    take(1),
    map(() => true),
    timeout({ first: withinMs, with: () => of(false), scheduler }),
    defaultIfEmpty(false),
    catchError(() => of(false)),
  );
}

/**
 * A HEAD of `url`, without the token, on a connection of its own (`agent: false`: not one of the pooled connections,
 * which may be the dead ones): the probe of {@link Liveness}. Any status counts as an answer.
 */
export function headProbe(url: string): () => Observable<unknown> {
  return () =>
    new Observable<void>((subscriber) => {
      const send = url.startsWith('https:') ? httpsRequest : httpRequest;
      const req = send(url, { method: 'HEAD', agent: false }, (response) => {
        response.resume();
        subscriber.next();
        subscriber.complete();
      });
      req.on('error', (error) => subscriber.error(error));
      req.end();
      return () => req.destroy();
    });
}
