import type { CompletionBody } from '../../src/protocol/types.js';
import type { JobSpool, SetAsideBatch } from '../../src/streams/spool.js';

/** A job's spool in memory, for specs that run the pipeline in virtual time: every record is kept for the spec to read. */
export class MemorySpool implements JobSpool {
  readonly output: { stdout: string; stderr: string };
  readonly instructionsPath: string;
  readonly batches: string[] = [];
  /** The highest index acked, -1 before the first ack. */
  acked = -1;
  readonly setAsideBatches: SetAsideBatch[] = [];
  agent?: { pid: number; adapterType: string | undefined };
  completion?: CompletionBody;
  removed = false;

  constructor(readonly jobId: string) {
    this.output = { stdout: `/memory/${jobId}.stdout`, stderr: `/memory/${jobId}.stderr` };
    this.instructionsPath = `/memory/${jobId}.instructions.md`;
  }

  get batchCount(): number {
    return this.batches.length;
  }

  appendBatch(body: string): number {
    return this.batches.push(body) - 1;
  }

  readBatch(index: number): string {
    const body = this.batches[index];
    if (body === undefined) throw new Error(`no batch ${index} in the spool of ${this.jobId}`);
    return body;
  }

  ack(index: number): void {
    this.acked = Math.max(this.acked, index);
  }

  setAside(batch: SetAsideBatch): void {
    this.setAsideBatches.push(batch);
  }

  recordAgent(pid: number, adapterType: string | undefined): void {
    this.agent = { pid, adapterType };
  }

  recordCompletion(body: CompletionBody): void {
    this.completion = body;
  }

  remove(): void {
    this.removed = true;
  }
}
