/** The admin API: key guard, in-process and HTTP parity, job listing, event following, and the admin CLI. */
import { randomUUID } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminCommand } from '../../../src/cli/admin/command.js';
import { EVENT_PAGE_BYTES } from '../../../src/control-plane/admin-api.js';
import { AdminClient, ControlPlaneError, type AdminApi, type ControlPlane, type EventPage } from '../../../src/control-plane/index.js';
import { RunnerHttp, captureIo, closedPort, company, event, runnerFor, sleep, startPlane, type Backend } from '../helpers.js';
import { describeTempDir } from '../../support/temp-dir.js';

export function adminSuite(makeBackend: () => Promise<Backend>) {
  describe('admin API', () => {
    let backend: Backend;
    let plane: ControlPlane;
    let client: AdminClient;

    beforeAll(async () => {
      backend = await makeBackend();
      plane = await startPlane(backend, { longPollMs: 5000 });
      client = new AdminClient({ serverUrl: plane.url, adminKey: plane.adminKey });
    });
    afterAll(async () => {
      await plane?.close();
      await backend?.dispose();
    });

    async function rejection(call: Promise<unknown>): Promise<ControlPlaneError> {
      const err = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ControlPlaneError);
      return err as ControlPlaneError;
    }

    it('should require the admin key, and never accept a runner token', async () => {
      const { token } = await plane.admin.createToken({ companyId: company('guard') });
      const attempt = (authorization?: string) =>
        fetch(`${plane.url}/api/admin/jobs`, { headers: authorization === undefined ? {} : { authorization } });
      for (const authorization of [undefined, 'Bearer wrong', `Bearer ${token}`, `Bearer ${plane.adminKey}x`, plane.adminKey]) {
        const res = await attempt(authorization);
        expect(res.status).toBe(401);
        expect(((await res.json()) as { error: string }).error).toBe('invalid_admin_key');
      }
      expect((await attempt(`Bearer ${plane.adminKey}`)).status).toBe(200);
      const wrongKey = new AdminClient({ serverUrl: plane.url, adminKey: 'nope' });
      expect((await rejection(wrongKey.listJobs())).status).toBe(401);
    });

    it('should give the same results in-process and over HTTP', async () => {
      const companyId = company('parity');
      const created = await client.createToken({ companyId, name: 'laptop' });
      expect(created.token).toMatch(/^fos_[A-Za-z0-9]{32}$/);
      expect(created.info).toMatchObject({ companyId, name: 'laptop', preview: created.token.slice(0, 8), revokedAt: null });
      expect(await plane.admin.listTokens({ companyId })).toEqual([created.info]);
      expect(await client.listTokens({ companyId })).toEqual([created.info]);

      const job = await client.enqueueJob({ companyId, agentName: 'Sarah', prompt: 'hello', addDirs: ['/w'] });
      expect(await client.getJob(job.jobId)).toEqual(await plane.admin.getJob(job.jobId));
      expect(await client.getJob(job.jobId)).toEqual({ ...job, eventCount: 0 });

      const revoked = await client.revokeToken(created.info.tokenId);
      expect(revoked.revokedAt).not.toBeNull();
      expect(await plane.admin.revokeToken(created.info.tokenId)).toEqual(revoked); // idempotent
      expect(await client.listTokens({ companyId })).toEqual([]);
      expect(await client.listTokens({ companyId, includeRevoked: true })).toEqual([revoked]);
    });

    it('should reject bad input with the same 400 in-process and over HTTP', async () => {
      const apis: AdminApi[] = [plane.admin, client];
      const [local, remote] = await Promise.all(
        apis.map((api) => rejection(api.enqueueJob({ companyId: 'acme', agentName: 'A' } as never))),
      );
      expect(local!.status).toBe(400);
      expect(local!.code).toBe('invalid_request');
      expect(remote!.message).toBe(local!.message);
      expect(local!.message).toContain('prompt');

      for (const api of apis) {
        expect((await rejection(api.createToken({ companyId: 'has space' }))).status).toBe(400);
        expect((await rejection(api.getJob('nope'))).status).toBe(400);
        expect((await rejection(api.getJob(randomUUID()))).code).toBe('job_not_found');
        expect((await rejection(api.revokeToken(randomUUID()))).code).toBe('token_not_found');
        expect((await rejection(api.listJobs({ status: 'sleeping' as never }))).status).toBe(400);
        expect((await rejection(api.listJobs({ limit: 0 }))).status).toBe(400);
      }
    });

    it('should answer 400, never 500, to admin values the database cannot store or hold', async () => {
      const companyId = company('hostile');
      const job = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      const deep = JSON.parse(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`);
      const base = { companyId, agentName: 'A', prompt: 'p' };
      const cases: Array<[string, () => Promise<unknown>, string]> = [
        ['cursor past bigint', () => client.listEvents(job.jobId, { after: '9999999999999999999' }), 'after'],
        ['NUL in agentName', () => client.enqueueJob({ ...base, agentName: 'A\u0000' }), 'agentName'],
        ['lone surrogate in prompt', () => client.enqueueJob({ ...base, prompt: 'cut \ud83d' }), 'prompt'],
        ['deep runtimeConfig', () => client.enqueueJob({ ...base, runtimeConfig: { deep } }), 'runtimeConfig'],
        ['NUL key in runtimeConfig', () => client.enqueueJob({ ...base, runtimeConfig: { 'k\u0000': 1 } }), 'runtimeConfig'],
        [
          'model of another type in runtimeConfig',
          () => client.enqueueJob({ ...base, runtimeConfig: { model: 5 } }),
          'runtimeConfig.model',
        ],
        [
          'maxTurns of another type in runtimeConfig',
          () => client.enqueueJob({ ...base, runtimeConfig: { maxTurns: 'x' } }),
          'runtimeConfig.maxTurns',
        ],
        ['lone surrogate in addDirs', () => client.enqueueJob({ ...base, addDirs: ['/ok', '/cut\udc00'] }), 'addDirs[1]'],
        ['too many addDirs', () => client.enqueueJob({ ...base, addDirs: Array.from({ length: 65 }, (_, i) => `/d${i}`) }), 'addDirs'],
        ['long agentName', () => client.enqueueJob({ ...base, agentName: 'A'.repeat(257) }), 'agentName'],
        ['long model', () => client.enqueueJob({ ...base, model: 'm'.repeat(257) }), 'model'],
        ['long prompt', () => client.enqueueJob({ ...base, prompt: 'p'.repeat(1024 * 1024 + 1) }), 'prompt'],
        [
          'instructions as plain text',
          () => client.enqueueJob({ ...base, instructionsFileContent: 'Be brief.' }),
          'instructionsFileContent',
        ],
        [
          'instructions in runtimeConfig as plain text',
          () => client.enqueueJob({ ...base, runtimeConfig: { instructionsFileContent: 'Be brief.' } }),
          'runtimeConfig.instructionsFileContent',
        ],
        [
          'instructions in base64 broken into lines',
          () => client.enqueueJob({ ...base, instructionsFileContent: `${'QUJD'.repeat(19)}\n${'QUJD'.repeat(19)}` }),
          'instructionsFileContent',
        ],
        [
          'instructions in base64 unpadded',
          () => client.enqueueJob({ ...base, instructionsFileContent: 'QmU' }),
          'instructionsFileContent',
        ],
        ['NUL in token name', () => client.createToken({ companyId, name: 'laptop\u0000' }), 'name'],
        ['long token name', () => client.createToken({ companyId, name: 'n'.repeat(257) }), 'name'],
        ['zero ttl', () => client.createToken({ companyId, ttlSec: 0 }), 'ttlSec'],
        ['ttl past ten years', () => client.createToken({ companyId, ttlSec: 11 * 365 * 24 * 3600 }), 'ttlSec'],
        ['negative grace', () => client.rotateToken({ tokenId: randomUUID(), graceSec: -1 }), 'graceSec'],
      ];
      for (const [name, call, field] of cases) {
        const err = await rejection(call());
        expect({ name, status: err.status }).toEqual({ name, status: 400 });
        expect(err.message).toContain(field);
      }
      const raw = await fetch(`${plane.url}/api/admin/jobs/${job.jobId}/events?after=9999999999999999999`, {
        headers: { authorization: `Bearer ${plane.adminKey}` },
      });
      expect(raw.status).toBe(400);
      expect(await client.listEvents(job.jobId, { after: '9223372036854775807' })).toMatchObject({ events: [] });
    });

    it('should refuse instructions that are not base64 with a 400 naming the field and the form it takes', async () => {
      const err = await rejection(
        client.enqueueJob({ companyId: 'acme', agentName: 'A', prompt: 'p', instructionsFileContent: 'Be brief.' }),
      );
      expect(err.status).toBe(400);
      expect(err.message).toContain('instructionsFileContent must be base64 (RFC 4648');
      expect(err.message).toContain('(got "Be brief.")');
    });

    it('should make tokens expire after the TTL (90 days by default) and rotate them', async () => {
      const companyId = company('ttl');
      const day = 24 * 3600 * 1000;
      const byDefault = await client.createToken({ companyId, name: 'laptop' });
      expect(Date.parse(byDefault.info.expiresAt) - Date.parse(byDefault.info.createdAt)).toBe(90 * day);
      const short = await client.createToken({ companyId, name: 'ci', ttlSec: 3600 });
      expect(Date.parse(short.info.expiresAt) - Date.parse(short.info.createdAt)).toBe(3600 * 1000);

      // Rotation: a new token, same company and name; the old one revoked, or working until the grace ends.
      const rotated = await client.rotateToken({ tokenId: byDefault.info.tokenId });
      expect(rotated.token).not.toBe(byDefault.token);
      expect(rotated.info).toMatchObject({ companyId, name: 'laptop', revokedAt: null });
      expect(rotated.previous.tokenId).toBe(byDefault.info.tokenId);
      expect(rotated.previous.revokedAt).not.toBeNull();
      expect((await new RunnerHttp(plane.url, byDefault.token).next()).body.error).toBe('invalid_runner_token');
      const fresh = new RunnerHttp(plane.url, rotated.token);
      const job = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      expect((await fresh.next()).status).toBe(200);

      const graceful = await plane.admin.rotateToken({ tokenId: short.info.tokenId, ttlSec: 7 * 24 * 3600, graceSec: 600 });
      expect(graceful.previous.revokedAt).toBeNull();
      expect(Date.parse(graceful.previous.expiresAt) - Date.now()).toBeGreaterThan(590_000);
      expect(Date.parse(graceful.previous.expiresAt) - Date.now()).toBeLessThan(610_000);
      expect(Date.parse(graceful.info.expiresAt) - Date.parse(graceful.info.createdAt)).toBe(7 * day);
      expect((await new RunnerHttp(plane.url, short.token).claim(job.jobId)).status).toBe(200);
      expect((await rejection(client.rotateToken({ tokenId: randomUUID() }))).code).toBe('token_not_found');

      // A revoked token stays revoked: rotating it (the one revoked by the rotation above, or one revoked by hand)
      // issues nothing.
      const revoked = await client.createToken({ companyId, name: 'stolen' });
      await client.revokeToken(revoked.info.tokenId);
      for (const tokenId of [revoked.info.tokenId, byDefault.info.tokenId]) {
        const refused = await rejection(client.rotateToken({ tokenId }));
        expect([refused.status, refused.code]).toEqual([409, 'token_revoked']);
        expect(refused.message).toContain('admin tokens create');
      }
      expect((await client.listTokens({ companyId, includeRevoked: true })).filter((t) => t.name === 'stolen')).toHaveLength(1);
    });

    it('should list jobs newest first, filtered by status and company', async () => {
      const companyId = company('list');
      const runner = await runnerFor(plane, companyId);
      const first = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: '1' });
      const second = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: '2' });
      const third = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: '3' });
      await runner.claim(first.jobId);

      expect((await client.listJobs({ companyId })).map((j) => j.jobId)).toEqual([third.jobId, second.jobId, first.jobId]);
      expect((await client.listJobs({ companyId, status: 'queued' })).map((j) => j.jobId)).toEqual([third.jobId, second.jobId]);
      expect((await client.listJobs({ companyId, limit: 1 })).map((j) => j.jobId)).toEqual([third.jobId]);
      expect((await client.listJobs({ companyId, status: 'claimed' })).map((j) => j.jobId)).toEqual([first.jobId]);
    });

    it('should cancel a live job once and refuse to cancel a finished one', async () => {
      const companyId = company('cancel');
      const job = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      expect((await client.cancelJob(job.jobId)).status).toBe('cancelled');
      const again = await rejection(client.cancelJob(job.jobId));
      expect([again.status, again.code]).toEqual([409, 'job_already_terminal']);
      expect((await rejection(client.cancelJob(randomUUID()))).status).toBe(404);
    });

    it('should hold an events request until events arrive, and page with the cursor', async () => {
      const companyId = company('follow');
      const runner = await runnerFor(plane, companyId);
      const job = await plane.admin.enqueueJob({ companyId, agentName: 'A', prompt: 'p' });
      await runner.claim(job.jobId);

      const empty = await client.listEvents(job.jobId);
      expect(empty).toEqual({ events: [], nextCursor: '0', jobStatus: 'claimed' });

      const waiting = client.listEvents(job.jobId, { after: empty.nextCursor, waitMs: 10_000 });
      await sleep(200);
      const sentAt = Date.now();
      await runner.events(job.jobId, [event({ seq: 0, payload: 'hello' })]);
      const page = await waiting;
      expect(Date.now() - sentAt).toBeLessThan(2000);
      expect(page.events.map((e) => e.payload)).toEqual(['hello']);
      expect(page.jobStatus).toBe('streaming');

      await runner.events(job.jobId, [event({ seq: 1, payload: 'world' })]);
      const next = await client.listEvents(job.jobId, { after: page.nextCursor });
      expect(next.events.map((e) => e.payload)).toEqual(['world']);

      // A terminal job answers at once, even with a wait: a follower knows to stop.
      await runner.complete(job.jobId, { status: 'completed', exitCode: 0 });
      const started = Date.now();
      const last = await client.listEvents(job.jobId, { after: next.nextCursor, waitMs: 10_000 });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(last).toEqual({ events: [], nextCursor: next.nextCursor, jobStatus: 'completed' });
    });

    it('should cut event pages by bytes, always at least one event, and page through every one in order', async () => {
      const companyId = company('pages');
      const runner = await runnerFor(plane, companyId);
      const job = await plane.admin.enqueueJob({ companyId, agentName: 'Loud', prompt: 'p' });
      expect((await runner.claim(job.jobId)).status).toBe(200);
      // 12 events of 1.5 MiB, then one of 6 MiB (larger than a page), then 3 small ones.
      const sizes = [...new Array(12).fill(1.5 * 1024 * 1024), 6 * 1024 * 1024, 10, 10, 10];
      for (const [seq, size] of sizes.entries()) {
        expect((await runner.events(job.jobId, [event({ seq, payload: String(seq % 10).repeat(size) })])).status).toBe(204);
      }
      const pages: number[][] = [];
      let after: string | undefined;
      for (;;) {
        const res = await fetch(`${plane.url}/api/admin/jobs/${job.jobId}/events${after ? `?after=${after}` : ''}`, {
          headers: { authorization: `Bearer ${plane.adminKey}` },
        });
        const text = await res.text();
        const page = JSON.parse(text) as EventPage;
        if (page.events.length === 0) break;
        // A page holds at most EVENT_PAGE_BYTES of payload, or a single event that is larger.
        expect(page.events.length === 1 || text.length <= EVENT_PAGE_BYTES + page.events.length * 300).toBe(true);
        pages.push(page.events.map((e) => e.seq!));
        after = page.nextCursor;
      }
      expect(pages.flat()).toEqual(sizes.map((_, seq) => seq));
      expect(pages.find((page) => page.includes(12))).toEqual([12]);
      expect(pages.length).toBeGreaterThanOrEqual(6);
    }, 60_000);

    describe('admin CLI', () => {
      const keyless = describeTempDir('founderos-cli-');

      /** Runs `founderos-runner admin …` in-process against the suite's server. */
      async function cli(...argv: string[]) {
        const io = captureIo({ FOUNDEROS_SERVER_URL: plane.url, FOUNDEROS_ADMIN_KEY: plane.adminKey });
        const code = await runAdminCommand(argv, io);
        return { code, out: io.out, err: io.err };
      }

      it('should round-trip tokens and jobs with --json', async () => {
        const companyId = company('cli');
        const created = await cli('tokens', 'create', '--company', companyId, '--name', 'ci box', '--json');
        expect(created.code).toBe(0);
        const { token, info } = JSON.parse(created.out);
        expect(token).toMatch(/^fos_[A-Za-z0-9]{32}$/);

        const listed = await cli('tokens', 'list', '--company', companyId, '--json');
        expect(JSON.parse(listed.out)).toEqual({ tokens: [info] });

        const enqueued = await cli(
          'jobs',
          'enqueue',
          '--company',
          companyId,
          '--agent-name',
          'Sarah',
          '--prompt',
          'count to 3',
          '--model',
          'sonnet',
          '--max-turns',
          '3',
          '--add-dir',
          '/a',
          '--add-dir',
          '/b',
          '--json',
        );
        expect(enqueued.code).toBe(0);
        const job = JSON.parse(enqueued.out);
        expect(job).toMatchObject({ companyId, agentName: 'Sarah', prompt: 'count to 3', addDirs: ['/a', '/b'], status: 'queued' });
        expect(job.runtimeConfig).toEqual({ model: 'sonnet', maxTurns: 3 });

        const runner = new RunnerHttp(plane.url, token);
        expect((await runner.claim(job.jobId)).status).toBe(200);
        await runner.events(job.jobId, [
          event({ seq: 0, payload: 'one' }),
          event({ seq: 1, payload: { type: 'result' }, kind: 'claude_result' }),
        ]);
        await runner.complete(job.jobId, { status: 'completed', exitCode: 0, costMicros: 1200 });

        const shown = JSON.parse((await cli('jobs', 'show', job.jobId, '--json')).out);
        expect(shown).toMatchObject({ jobId: job.jobId, status: 'completed', costMicros: 1200, eventCount: 2 });
        const list = JSON.parse((await cli('jobs', 'list', '--company', companyId, '--status', 'completed', '--json')).out);
        expect(list.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([job.jobId]);

        const followed = await cli('jobs', 'events', job.jobId, '--follow', '--json');
        expect(followed.code).toBe(0);
        const lines = followed.out
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line));
        expect(lines.map((e) => e.payload)).toEqual(['one', { type: 'result' }]);

        const text = await cli('jobs', 'events', job.jobId, '--follow');
        expect(text.out).toMatch(/^#0 .* stdout_line one\n#1 .* claude_result \{"type":"result"\}\n-- job .* is completed\n$/);
        expect((await cli('jobs', 'show', job.jobId)).out).toContain('status:         completed');

        const cancel = await cli('jobs', 'cancel', job.jobId, '--json');
        expect(cancel.code).toBe(1);
        expect(JSON.parse(cancel.err)).toMatchObject({ error: 'job_already_terminal', status: 409 });

        const revoked = await cli('tokens', 'revoke', info.tokenId);
        expect(revoked.code).toBe(0);
        expect(revoked.out).toContain(info.preview);
        expect(revoked.out).not.toContain(token);
      });

      it('should create, list and rotate tokens with their expiry', async () => {
        const companyId = company('cli-ttl');
        const created = JSON.parse((await cli('tokens', 'create', '--company', companyId, '--name', 'box', '--ttl', '30d', '--json')).out);
        expect(Date.parse(created.info.expiresAt) - Date.parse(created.info.createdAt)).toBe(30 * 24 * 3600 * 1000);
        const listed = await cli('tokens', 'list', '--company', companyId);
        expect(listed.out).toContain('EXPIRES (UTC)');
        expect(listed.out).toContain(`${created.info.expiresAt.slice(0, 10)} ${created.info.expiresAt.slice(11, 19)}`);

        const rotated = await cli('tokens', 'rotate', created.info.tokenId, '--grace', '0s');
        expect(rotated.code).toBe(0);
        expect(rotated.out).toMatch(/^Runner token for company .* expires .*\nfos_[A-Za-z0-9]{32}\n/);
        expect(rotated.out).toContain(`The old token ${created.info.preview}… (id ${created.info.tokenId}) works until`);
        expect((await cli('tokens', 'list', '--company', companyId)).out).toMatch(new RegExp(`${created.info.tokenId} .* expired `));
        expect((await cli('tokens', 'create', '--company', companyId, '--ttl', '90 days')).err).toMatch(
          /--ttl must be a whole number followed by s, m, h or d/,
        );
      });

      it('should show control characters from agents and runners escaped, in every listing', async () => {
        const companyId = company('cli-escape');
        const evil = '\u001b]0;pwned\u0007\u001b[2J\u009b31m\r\u202e';
        const { token } = await plane.admin.createToken({ companyId, name: `box${evil}` });
        const job = await plane.admin.enqueueJob({
          companyId,
          agentName: `Sarah${evil}`,
          prompt: `p${evil}`,
          runtimeConfig: { note: evil },
        });
        const runner = new RunnerHttp(plane.url, token);
        await runner.claim(job.jobId);
        await runner.events(job.jobId, [event({ payload: `text${evil}` }), event({ kind: 'claude_message', payload: { text: evil } })]);
        await runner.complete(job.jobId, {
          status: 'failed',
          exitCode: 1,
          errorMessage: `boom${evil}\nsecond line`,
          cliVersion: `1${evil}`,
          signal: evil,
        });

        const outputs = [
          await cli('jobs', 'events', job.jobId),
          await cli('jobs', 'events', job.jobId, '--json'),
          await cli('jobs', 'show', job.jobId),
          await cli('jobs', 'show', job.jobId, '--json'),
          await cli('jobs', 'list', '--company', companyId),
          await cli('tokens', 'list', '--company', companyId),
          await cli('jobs', 'enqueue', '--company', companyId, '--agent-name', `Bob${evil}`, '--prompt', 'p'),
        ];
        for (const { code, out } of outputs) {
          expect(code).toBe(0);
          expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
          expect(out).toContain('\\u001b');
        }
        expect(outputs[0]!.out).toContain('text\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\u000d\\u202e');
        expect(outputs[2]!.out).toContain('boom\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\u000d\\u202e\\u000asecond line');
        // The JSON still reads back as exactly what was stored.
        const [first, second] = outputs[1]!.out
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line));
        expect([first.payload, second.payload]).toEqual([`text${evil}`, { text: evil }]);
        expect(JSON.parse(outputs[3]!.out).errorMessage).toBe(`boom${evil}\nsecond line`);
      });

      it('should read the prompt from a file', async () => {
        const file = join(keyless(), 'prompt.txt');
        await writeFile(file, 'from a file\n');
        const res = await cli('jobs', 'enqueue', '--company', 'acme', '--agent-name', 'A', '--prompt-file', file, '--json');
        expect(JSON.parse(res.out).prompt).toBe('from a file\n');
      });

      it('should send the instructions file as base64, which decodes as the original runner decodes it to the same bytes', async () => {
        const companyId = company('instructions');
        const instructions = 'Be terse. Ünïcode ✓ — 日本語 🚀\nline two\n';
        const file = join(keyless(), 'instructions.md');
        await writeFile(file, instructions);
        const queued = await cli(
          'jobs',
          'enqueue',
          '--company',
          companyId,
          '--agent-name',
          'A',
          '--prompt',
          'p',
          '--instructions-file',
          file,
          '--json',
        );
        expect(queued.code).toBe(0);
        const { jobId } = JSON.parse(queued.out);
        const claimed = await (await runnerFor(plane, companyId)).claim(jobId);
        expect(claimed.status).toBe(200);
        const served = claimed.body.runtimeConfig.instructionsFileContent as string;
        expect(served).toBe(Buffer.from(instructions).toString('base64'));
        // @founderos/runner 0.1.1 reads the field with Buffer.from(…, 'base64') and writes the bytes for its agent.
        expect(Buffer.from(served, 'base64').equals(await readFile(file))).toBe(true);
        expect(Buffer.from(served, 'base64').toString('utf8')).toBe(instructions);
      });

      it('should exit 2 with a clear message on usage errors', async () => {
        const cases: Array<[string[], RegExp]> = [
          [['jobs', 'list', '--bogus'], /unknown flag\(s\): --bogus/],
          [['tokens', 'create', '--prompt', 'x', '--company', 'a'], /unknown flag\(s\): --prompt/],
          [['tokens', 'create'], /--company is required/],
          [['jobs', 'show'], /takes <jobId>/],
          [['jobs', 'fly'], /unknown command "jobs fly"/],
          [['jobs', 'enqueue', '--company', 'a', '--agent-name', 'A'], /exactly one of --prompt/],
          [
            ['jobs', 'enqueue', '--company', 'a', '--agent-name', 'A', '--prompt', 'p', '--max-turns', 'many'],
            /--max-turns must be an integer/,
          ],
          [['jobs', 'list', '--company', 'a', '--company', 'b'], /given 2 times/],
          [['jobs', 'list', '--status', 'sleeping'], /status must be one of/],
          [[], /Usage: founderos-runner admin/],
        ];
        for (const [argv, message] of cases) {
          const res = await cli(...argv);
          expect({ argv, code: res.code }).toEqual({ argv, code: 2 });
          expect(res.err).toMatch(message);
        }
        expect((await cli('--help')).code).toBe(0);
      });

      it('should say where the admin key comes from when there is none', async () => {
        const io = captureIo({ FOUNDEROS_SERVER_URL: plane.url });
        const code = await runAdminCommand(['jobs', 'list', '--data-dir', keyless()], io);
        expect(code).toBe(2);
        expect(io.err).toContain('no admin key');
        expect(io.err).toContain(join(keyless(), 'admin.key'));
      });

      it('should read the admin key from --admin-key-file only when the file is private, and warn about --admin-key', async () => {
        const file = join(keyless(), 'key');
        await writeFile(file, `${plane.adminKey}\n`, { mode: 0o600 });
        const viaFile = captureIo({ FOUNDEROS_SERVER_URL: plane.url });
        expect(await runAdminCommand(['tokens', 'list', '--admin-key-file', file, '--json'], viaFile)).toBe(0);
        expect(viaFile.err).toBe('');

        await chmod(file, 0o644);
        const open = captureIo({ FOUNDEROS_SERVER_URL: plane.url });
        expect(await runAdminCommand(['tokens', 'list', '--admin-key-file', file], open)).toBe(2);
        expect(open.err).toContain(`admin key file ${file} has mode 0644: other users can read or change it; run: chmod 600 ${file}`);

        const onCommandLine = captureIo({ FOUNDEROS_SERVER_URL: plane.url });
        expect(await runAdminCommand(['tokens', 'list', '--admin-key', plane.adminKey, '--json'], onCommandLine)).toBe(0);
        expect(onCommandLine.err).toContain('was given as --admin-key on the command line, where every user of this machine can read it');
        expect(onCommandLine.err).toContain(plane.adminKey.slice(0, 8));
        expect(onCommandLine.err).not.toContain(plane.adminKey);
      });

      it('should say when the server cannot be reached', async () => {
        const port = await closedPort();
        const io = captureIo({ FOUNDEROS_ADMIN_KEY: 'k' });
        const code = await runAdminCommand(['jobs', 'list', '--server-url', `http://127.0.0.1:${port}`], io);
        expect(code).toBe(1);
        expect(io.err).toContain(`Cannot reach the control plane at http://127.0.0.1:${port} (ECONNREFUSED)`);
      });
    });
  });
}
