/**
 * What a control plane can store of an event's payload. PostgreSQL's `jsonb` (the reference control plane's, and the
 * cloud's) refuses a string or key holding NUL (`\u0000`) or half of a UTF-16 surrogate pair, and absurd nesting
 * exhausts a server's stack (and `JSON.stringify`'s). `JSON.parse` accepts all three, and agents print them: a string
 * cut in the middle of an emoji serializes as a lone `\ud83d`. The runner repairs what it can before a line reaches
 * the spool; the reference control plane refuses what it cannot store with a 400 that names the field. Both use
 * these two functions, so they cannot disagree.
 */

/** Deeper JSON is not stored as JSON: agents' own events nest a dozen levels at most. */
export const MAX_JSON_DEPTH = 64;

/** Replaces NUL and lone surrogates, as a UTF-8 decoder replaces invalid bytes. */
const REPLACEMENT = '\uFFFD';

export type UnstorableReason = 'nul' | 'lone_surrogate' | 'too_deep';

export interface UnstorableProblem {
  reason: UnstorableReason;
  /** Where, as a JavaScript-style path from the value's root (`message.content[0].text`); `''` for the root. */
  path: string;
  /** What is wrong, in words, for an error message. */
  detail: string;
}

/** A value on the walk: the root, or one its parent holds under a key or index (`step`). */
type Frame = { value: unknown; depth: number } & ({ parent?: undefined; step?: undefined } | { parent: Frame; step: string | number });

/**
 * What in `value` a `jsonb` column cannot hold, or undefined when it can all be stored. Nesting past `maxDepth` is
 * reported before any string problem, since only string problems can be repaired (and repairing recurses): a value with
 * a NUL somewhere and absurd nesting elsewhere is `too_deep`. Otherwise the first NUL or lone surrogate the walk meets
 * is named. Walks the value with an explicit stack, so no nesting can overflow the call stack. Objects and arrays
 * count one level each: `{}` is at depth 1, `{"a":[]}` reaches depth 2.
 */
export function findUnstorable(value: unknown, maxDepth: number = MAX_JSON_DEPTH): UnstorableProblem | undefined {
  const stack: Frame[] = [{ value, depth: 0 }];
  let firstStringProblem: UnstorableProblem | undefined;
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const { value: current } = frame;
    if (typeof current === 'string') {
      const reason = firstStringProblem ? undefined : stringProblem(current);
      if (reason) firstStringProblem = problem(reason, frame, 'its value');
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    const depth = frame.depth + 1;
    if (depth > maxDepth) return problem('too_deep', frame, `nests past ${maxDepth} levels`);
    if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) stack.push({ value: current[index], depth, parent: frame, step: index });
      continue;
    }
    const keys = Object.keys(current);
    // Pushed in reverse, so that values are visited (and problems named) in document order.
    for (const key of keys.toReversed()) stack.push({ value: (current as Record<string, unknown>)[key], depth, parent: frame, step: key });
    for (const key of firstStringProblem ? [] : keys) {
      const reason = stringProblem(key);
      if (reason) {
        firstStringProblem = problem(reason, { value: key, depth, parent: frame, step: key }, 'its key');
        break;
      }
    }
  }
  return firstStringProblem;
}

/**
 * True when whatever `JSON.parse(text)` gives is surely storable, judged from the text alone, far quicker than a walk
 * of the parsed value: a JSON text can hold a NUL or half a surrogate pair only as a `\u` escape (a raw control
 * character is not JSON, and a raw lone surrogate is not well-formed text), and cannot nest deeper than it has
 * brackets. False means only "walk it with {@link findUnstorable}".
 */
export function isSurelyStorableJson(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  return !text.includes('\\u') && text.isWellFormed() && bracketsAtMost(text, maxDepth);
}

function bracketsAtMost(text: string, limit: number): boolean {
  let count = 0;
  for (const bracket of ['{', '[']) {
    for (let at = text.indexOf(bracket); at !== -1; at = text.indexOf(bracket, at + 1)) if (++count > limit) return false;
  }
  return true;
}

/**
 * Why a store refuses `value` and what to send instead, for the message of a refusal ("message.text: its value holds a
 * NUL character …; replace …"); undefined when it can be stored as it is.
 */
export function unstorableReason(value: unknown): string | undefined {
  const problem = findUnstorable(value);
  if (problem === undefined) return undefined;
  const fix =
    problem.reason === 'too_deep'
      ? `send what nests deeper than ${MAX_JSON_DEPTH} levels as text (a JSON string) instead`
      : 'replace NUL characters and lone surrogates with U+FFFD (as the runner does) and send again';
  // The detail quotes the path, whose keys can be as long as the value: keep the message short.
  const detail = problem.detail.length > 300 ? `${problem.detail.slice(0, 297)}...` : problem.detail;
  return `${detail}; ${fix}`;
}

/**
 * `value` with every NUL and lone surrogate, in strings and keys alike, replaced by U+FFFD; the same value when there
 * was nothing to replace. Nesting is not repaired (and this recursion must not meet it): repair only a value for which
 * `findUnstorable(…)?.reason` is not `'too_deep'`.
 */
export function repairStorable<T>(value: T): T {
  if (typeof value === 'string') return repairString(value) as T;
  if (typeof value !== 'object' || value === null) return value;
  if (!findUnstorable(value, Infinity)) return value;
  if (Array.isArray(value)) return value.map(repairStorable) as T;
  const repaired: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    // defineProperty: a `__proto__` key from JSON.parse stays a plain key instead of replacing the prototype.
    Object.defineProperty(repaired, repairString(key), {
      value: repairStorable(inner),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return repaired as T;
}

/** A string with NUL and lone surrogates replaced by U+FFFD. */
export function repairString(text: string): string {
  const wellFormed = text.isWellFormed() ? text : text.toWellFormed();
  return wellFormed.includes('\0') ? wellFormed.replaceAll('\0', REPLACEMENT) : wellFormed;
}

function stringProblem(text: string): Exclude<UnstorableReason, 'too_deep'> | undefined {
  if (text.includes('\0')) return 'nul';
  if (!text.isWellFormed()) return 'lone_surrogate';
  return undefined;
}

function problem(reason: UnstorableReason, frame: Frame, where: string): UnstorableProblem {
  const path = pathOf(frame);
  const detail =
    reason === 'too_deep'
      ? `${where}`
      : `${where} holds ${reason === 'nul' ? 'a NUL character (\\u0000)' : 'half of a UTF-16 surrogate pair (a character cut in two)'}`;
  return { reason, path, detail: `${path || 'the value'}: ${detail}, which cannot be stored as JSON` };
}

function pathOf(frame: Frame): string {
  const steps: (string | number)[] = [];
  for (let at = frame; at.parent !== undefined; at = at.parent) steps.push(at.step);
  return steps.reverse().reduce<string>((path, step) => {
    if (typeof step === 'number') return `${path}[${step}]`;
    const plain = /^[A-Za-z_$][\w$]*$/.test(step);
    return plain ? (path ? `${path}.${step}` : step) : `${path}[${JSON.stringify(repairString(step))}]`;
  }, '');
}
