/** A tool call and its result make one step: found by tool id, else in order; with a duration and an outcome. */
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/control-plane/types.js';
import { itemTexts, stepDurationMs, stepOutcome, Timeline, type StepItem } from '../../src/ui/steps.js';
import { toEntries } from '../../src/ui/transcript.js';

let seq = 0;
function event(kind: StoredEvent['kind'], payload: unknown, ms: number): StoredEvent {
  seq++;
  return { eventId: `e${seq}`, attempt: 1, seq, kind, ts: new Date(ms).toISOString(), payload };
}
const call = (id: string | undefined, command: string, ms: number) =>
  event('tool_call', { type: 'tool_use', tool_name: 'shell', ...(id ? { tool_id: id } : {}), parameters: { command } }, ms);
const result = (id: string | undefined, output: string, ms: number, status = 'success') =>
  event('tool_result', { type: 'tool_result', ...(id ? { tool_id: id } : {}), status, output }, ms);
const steps = (timeline: Timeline) => timeline.items.filter((item): item is StepItem => item.kind === 'step');

describe('Timeline', () => {
  it('should pair results with their calls by tool id, whatever the order they finish in', () => {
    const timeline = new Timeline(toEntries);
    timeline.append([call('a', 'sleep 3', 0), call('b', 'echo fast', 100), result('b', 'fast', 200), result('a', 'slept', 3_000)]);
    const [a, b] = steps(timeline);
    expect([a!.summary, a!.result?.entry.body, stepDurationMs(a!)]).toEqual(['sleep 3', 'slept', 3_000]);
    expect([b!.summary, b!.result?.entry.body, stepDurationMs(b!)]).toEqual(['echo fast', 'fast', 100]);
    expect(timeline.items).toHaveLength(2);
  });

  it('should give a result without a tool id to the oldest call still waiting', () => {
    const timeline = new Timeline(toEntries);
    timeline.append([call(undefined, 'one', 0), call(undefined, 'two', 10), result(undefined, 'first', 20)]);
    timeline.append([result(undefined, 'second', 40)]);
    expect(steps(timeline).map((s) => s.result?.entry.body)).toEqual(['first', 'second']);
  });

  it('should count a call told twice once, and keep the first result of a call', () => {
    const timeline = new Timeline(toEntries);
    timeline.append([call('a', 'ls', 0), call('a', 'ls', 5), result('a', 'x', 10), result('a', 'x again', 20)]);
    expect(steps(timeline)).toHaveLength(1);
    expect(steps(timeline)[0]!.result?.entry.body).toBe('x');
  });

  it('should make a step of a result whose call it never saw, without a duration', () => {
    const timeline = new Timeline(toEntries);
    timeline.append([result('z', 'done', 10)]);
    const [alone] = steps(timeline);
    expect(alone!.result?.entry.body).toBe('done');
    expect(stepDurationMs(alone!)).toBeUndefined();
  });

  it('should bump a step when its result comes, so its row shows it', () => {
    const timeline = new Timeline(toEntries);
    timeline.append([call('a', 'ls', 0)]);
    const [step] = steps(timeline);
    expect(step!.rev).toBe(0);
    timeline.append([result('a', 'x', 10)]);
    expect(step!.rev).toBe(1);
  });

  it('should keep everything else as entries, in order', () => {
    const timeline = new Timeline(toEntries);
    timeline.append([event('stdout_line', 'hello', 0), call('a', 'ls', 1), event('stderr_line', 'oops', 2)]);
    expect(timeline.items.map((item) => item.kind)).toEqual(['entry', 'step', 'entry']);
  });
});

describe('stepOutcome', () => {
  it('should say ok, failed, running while the job runs, or no result once it ended', () => {
    const timeline = new Timeline(toEntries);
    timeline.append([
      call('a', 'ok', 0),
      result('a', 'fine', 1),
      call('b', 'bad', 2),
      result('b', 'boom', 3, 'error'),
      call('c', 'slow', 4),
    ]);
    const [ok, failed, open] = steps(timeline);
    expect(stepOutcome(ok!, true)).toBe('ok');
    expect(stepOutcome(failed!, true)).toBe('failed');
    expect(stepOutcome(open!, true)).toBe('running');
    expect(stepOutcome(open!, false)).toBe('no result');
  });
});

describe('itemTexts', () => {
  it('should give a step its name, summary, input (when it says more than the summary) and output', () => {
    const timeline = new Timeline(toEntries);
    timeline.append([
      event(
        'claude_tool_use',
        {
          type: 'assistant',
          message: { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'Bash', input: { command: 'ls' } }] },
        },
        0,
      ),
      event(
        'claude_tool_result',
        { type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'a\nb' }] } },
        1,
      ),
    ]);
    // The input says no more than the heading ("command: ls"): left out.
    expect(itemTexts(timeline.items[0]!)).toEqual(['Bash', 'ls', '', 'a\nb']);
    timeline.append([
      event(
        'claude_tool_use',
        {
          type: 'assistant',
          message: {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'u', name: 'Bash', input: { command: 'ls', description: 'List' } }],
          },
        },
        2,
      ),
    ]);
    expect(itemTexts(timeline.items[1]!)).toEqual(['Bash', 'ls', 'command: ls\ndescription: List', '']);
  });
});
