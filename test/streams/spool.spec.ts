import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UNSENT_BODIES_BUDGET, findLeftovers, openJobSpool, type SetAsideBatch } from '../../src/streams/spool.js';

const newDir = () => mkdtempSync(join(tmpdir(), 'spool-spec-'));
const dead = () => false;

describe('job spool', () => {
  it('should keep each batch byte for byte, readable by index, in a file only the user can read', () => {
    const dir = newDir();
    const spool = openJobSpool(dir, 'job-1', 'https://x.example.com', 111);
    expect(spool.appendBatch('{"events":[{"seq":0}]}')).toBe(0);
    expect(spool.appendBatch('{"events":[{"seq":1,"text":"é"}]}')).toBe(1);
    expect(spool.readBatch(1)).toBe('{"events":[{"seq":1,"text":"é"}]}');
    expect(spool.readBatch(0)).toBe('{"events":[{"seq":0}]}');
    expect(statSync(join(dir, 'job-1.ndjson')).mode & 0o777).toBe(0o600);
  });

  it('should send unsent batches from memory within the budget, and read the rest, and settled ones, from the file', () => {
    const dir = newDir();
    const spool = openJobSpool(dir, 'job-1', 'https://x.example.com', 111);
    const big = `{"events":["${'x'.repeat(UNSENT_BODIES_BUDGET / 2)}"]}`;
    spool.appendBatch(big);
    spool.appendBatch(big);
    // What the file says from here on is not what was written: only a read of the file would see it.
    const file = join(dir, 'job-1.ndjson');
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll('x', 'y'));
    expect(spool.readBatch(0)).toBe(big);
    // The second did not fit beside the first in the budget: it waits on disk alone.
    expect(spool.readBatch(1)).toBe(big.replaceAll('x', 'y'));
    spool.ack(0);
    expect(spool.readBatch(0)).toBe(big.replaceAll('x', 'y'));
  });

  it('should hand out copies of the batches set aside: what a caller does with them never changes the spool', () => {
    const spool = openJobSpool(newDir(), 'job-1', 'https://x.example.com', 111);
    spool.appendBatch('{"events":[{"seq":0}]}');
    const refused = { index: 0, events: 1, why: 'refused' as const, status: 400 };
    spool.setAside(refused);
    refused.status = 500;
    const handedOut = spool.setAsideBatches as SetAsideBatch[];
    for (const batch of handedOut) batch.status = 502;
    handedOut.push({ index: 1, events: 2, why: 'failing' });
    expect(spool.setAsideBatches).toEqual([{ index: 0, events: 1, why: 'refused', status: 400 }]);
  });

  it("should remove the file and the agent's output files once everything was accepted", () => {
    const dir = newDir();
    const spool = openJobSpool(dir, 'job-1', 'https://x.example.com');
    spool.appendBatch('{"events":[]}');
    expect(spool.output).toEqual({ stdout: join(dir, 'job-1.stdout'), stderr: join(dir, 'job-1.stderr') });
    writeFileSync(spool.output.stdout, 'printed\n');
    writeFileSync(spool.output.stderr, '');
    spool.remove();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('should start a job afresh, without output that an earlier run of the same job left', () => {
    const dir = newDir();
    writeFileSync(join(dir, 'job-1.stdout'), 'a line of an earlier run\n');
    const spool = openJobSpool(dir, 'job-1', 'https://x.example.com');
    expect(readdirSync(dir)).toEqual(['job-1.ndjson']);
    expect(spool.output.stdout).toBe(join(dir, 'job-1.stdout'));
  });

  it("should hand a dead runner's job over with the batches not yet accepted, its agent and its completion", () => {
    const dir = newDir();
    const spool = openJobSpool(dir, 'job-1', 'https://x.example.com', 999_999);
    spool.recordAgent(4242, 'codex_local');
    for (let seq = 0; seq < 4; seq++) spool.appendBatch(`{"events":[{"seq":${seq}}]}`);
    spool.ack(1);
    spool.recordCompletion({ status: 'completed', exitCode: 0 });

    const [leftover] = findLeftovers(dir, dead);
    expect(leftover).toMatchObject({
      jobId: 'job-1',
      serverUrl: 'https://x.example.com',
      adapterType: 'codex_local',
      pendingBatches: [2, 3],
      completion: { status: 'completed', exitCode: 0 },
    });
    expect(leftover!.pendingBatches.map((index) => leftover!.spool.readBatch(index))).toEqual([
      '{"events":[{"seq":2}]}',
      '{"events":[{"seq":3}]}',
    ]);
    expect(leftover!.spool.batchCount).toBe(4);
    expect(leftover!.spool.output).toEqual(spool.output);
  });

  it('should drop a record cut short by a crash and keep appending after the last whole line', () => {
    const dir = newDir();
    const spool = openJobSpool(dir, 'job-1', 'https://x.example.com', 999_999);
    spool.appendBatch('{"events":[{"seq":0}]}');
    appendFileSync(join(dir, 'job-1.ndjson'), `{"events":[{"se${'x'.repeat(500)}`);

    const [leftover] = findLeftovers(dir, dead);
    expect(leftover!.pendingBatches).toEqual([0]);
    const index = leftover!.spool.appendBatch('{"events":[{"seq":1}]}');
    expect(leftover!.spool.readBatch(index)).toBe('{"events":[{"seq":1}]}');
    expect(readFileSync(join(dir, 'job-1.ndjson'), 'utf8')).not.toContain('"se\n');
    expect(findLeftovers(dir, dead)[0]!.pendingBatches).toEqual([0, 1]);
  });

  it('should scan a spool of several MiB, lines across read chunks and one longer than a chunk, intact', () => {
    const dir = newDir();
    const spool = openJobSpool(dir, 'job-big', 'https://x.example.com', 999_999);
    const bodies = Array.from(
      { length: 41 },
      (_, seq) => `{"events":[{"seq":${seq},"text":"${(seq === 20 ? 'L' : 'x').repeat(seq === 20 ? 1_500_000 : 100_003)}"}]}`,
    );
    bodies.forEach((body) => spool.appendBatch(body));
    spool.ack(9);
    const [leftover] = findLeftovers(dir, dead);
    expect(leftover!.pendingBatches).toHaveLength(31);
    expect(leftover!.pendingBatches.map((index) => leftover!.spool.readBatch(index))).toEqual(bodies.slice(10));
  });

  it('should leave alone the files of a runner that still runs', () => {
    const dir = newDir();
    openJobSpool(dir, 'job-1', 'https://x.example.com', 12345);
    expect(findLeftovers(dir, (pid) => pid === 12345)).toEqual([]);
    expect(findLeftovers(dir, dead)).toHaveLength(1);
  });
});
