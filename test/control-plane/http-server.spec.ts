/** The HTTP layer alone (no database): disconnects, body limits, unexpected errors, odd paths. */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneError } from '../../src/control-plane/errors.js';
import { createHttpServer, type HttpServer } from '../../src/control-plane/http-server.js';
import { eventually, sleep } from './helpers.js';

describe('http server', () => {
  let http: HttpServer;
  let url: string;
  const logs: string[] = [];
  let waitEnded = false;

  beforeAll(async () => {
    http = createHttpServer({
      maxBodyBytes: 64 * 1024,
      log: (line) => logs.push(line),
      routes: [
        {
          method: 'GET',
          path: '/wait',
          handler: async (ctx) => {
            await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
            waitEnded = true;
            return { status: 204 };
          },
        },
        {
          method: 'POST',
          path: '/echo/:name',
          handler: async (ctx) => ({ status: 200, body: { name: ctx.params.name, body: await ctx.readJson() } }),
        },
        {
          method: 'GET',
          path: '/boom',
          handler: async () => {
            throw new Error('secret internals');
          },
        },
        {
          method: 'GET',
          path: '/teapot',
          handler: async () => {
            throw new ControlPlaneError(418, 'teapot', 'I am a teapot; ask for coffee elsewhere.');
          },
        },
      ],
    });
    url = await http.listen('127.0.0.1', 0);
  });
  afterAll(() => http.close());

  it('should stop waiting when the client goes away', async () => {
    const gone = new AbortController();
    const pending = fetch(`${url}/wait`, { signal: gone.signal }).catch(() => 'aborted');
    await sleep(100);
    expect(waitEnded).toBe(false);
    gone.abort();
    expect(await pending).toBe('aborted');
    await eventually(async () => (waitEnded ? true : undefined), 2000);
  });

  it('should answer 413 to a chunked body past the limit without reading it all', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/echo/big`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < 64) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
  });

  it('should parse JSON bodies and decode path parameters', async () => {
    const res = await fetch(`${url}/echo/a%20b`, { method: 'POST', body: '{"x":1}' });
    expect(await res.json()).toEqual({ name: 'a b', body: { x: 1 } });
  });

  it('should hide unexpected errors behind a 500 with a request id, and log them', async () => {
    const res = await fetch(`${url}/boom`);
    const body = (await res.json()) as { error: string; message: string; requestId: string };
    expect(res.status).toBe(500);
    expect(body.error).toBe('internal_error');
    expect(body.message).not.toContain('secret internals');
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
    expect(logs.some((line) => line.includes(body.requestId) && line.includes('secret internals'))).toBe(true);
  });

  it('should pass deliberate errors through with their status and code', async () => {
    const res = await fetch(`${url}/teapot`);
    expect(res.status).toBe(418);
    expect(await res.json()).toMatchObject({ error: 'teapot', message: 'I am a teapot; ask for coffee elsewhere.' });
  });

  /** Writes raw bytes to the server and resolves to everything it answers before closing the connection. */
  function rawExchange(bytes: string): Promise<string> {
    const { port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(bytes));
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });
  }

  it('should answer a request that is not valid HTTP with a JSON 400 that has a request id', async () => {
    const answer = await rawExchange('GARBAGE / NOT-HTTP\r\n\r\n');
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const requestId = /\r\nx-request-id: ([0-9a-f-]{36})/.exec(head!)?.[1];
    expect(requestId).toBeDefined();
    expect(JSON.parse(body!)).toMatchObject({ error: 'bad_request', requestId });

    const huge = await rawExchange(`GET /nowhere HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(huge).toMatch(/\r\nx-request-id: [0-9a-f-]{36}\r\n/);
  });

  it('should answer 404 to unknown and malformed paths', async () => {
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
    expect((await fetch(`${url}/echo/%E0%A4%A`, { method: 'POST' })).status).toBe(404);
  });
});
