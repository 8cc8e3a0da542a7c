/**
 * Pure RxJS operators of the runner, published as `@founderos/runner/operators`. None does I/O;
 * every duration is an option and every clock a scheduler, so they can be tested in virtual time.
 */
export { activeWhile } from './activeWhile.js';
export { alongside } from './alongside.js';
export { batch, type BatchOptions } from './batch.js';
export { coalesceWhileBusy, type CoalesceWhileBusyOptions } from './coalesceWhileBusy.js';
export { feedback } from './feedback.js';
export { isTransientError } from './isTransientError.js';
export { pausesByKey, type PauseSignal, type PausesByKeyOptions } from './pausesByKey.js';
export { poll, type PollOptions } from './poll.js';
export { recoverUnless } from './recoverUnless.js';
export { retryBackoff, type RetryBackoffOptions, type RetryInfo } from './retryBackoff.js';
export { eventStamps, sequenceEvents, type EventStamp, type SequenceEventsOptions } from './sequenceEvents.js';
export { splitLines, type SplitLinesOptions } from './splitLines.js';
