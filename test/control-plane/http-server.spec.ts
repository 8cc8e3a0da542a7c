/**
 * The HTTP layer alone (no database): disconnects, body limits and timeouts, unexpected errors, odd targets, the
 * headers of every answer, refusals throttled per client, and connections shed when the server is full.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
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
      log: (line) => logs.push(line),
      refusals: { limit: 5, windowMs: 1500 },
      maxBufferedBodyBytes: 100 * 1024,
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
          handler: async (ctx) => ({ status: 200, body: { name: ctx.param('name'), body: await ctx.readJson() } }),
        },
        {
          method: 'GET',
          path: '/boom',
          handler: async () => {
            throw new Error('secret internals');
          },
        },
        {
          method: 'POST',
          path: '/slow-body',
          bodyTimeoutMs: 300,
          handler: async (ctx) => ({ status: 200, body: { body: await ctx.readJson() } }),
        },
        {
          method: 'POST',
          path: '/refuse',
          handler: async (ctx) => {
            throw ctx.refuse(new ControlPlaneError(401, 'wrong_key', 'Wrong key.'));
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

  it('should answer 404 to unknown paths, and 400 with a request id to a target it cannot read', async () => {
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
    const broken = await fetch(`${url}/echo/%E0%A4%A`, { method: 'POST' });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: 'invalid_target', requestId: broken.headers.get('x-request-id') });
    expect((await fetch(`${url}/echo/%E0%A4`, { method: 'POST' })).status).toBe(400); // not UTF-8
  });

  /** The status line and JSON body of a raw request's answer. */
  async function rawAnswer(target: string): Promise<{ status: number; body: { error?: string; requestId?: string } }> {
    const answer = await rawExchange(`GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
    const [head, body] = answer.split('\r\n\r\n');
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head!)?.[1]), body: JSON.parse(body!) };
  }

  it('should answer every odd request target, and keep serving (//a:99999/ once ended the process)', async () => {
    const answers: Record<string, number> = {};
    for (const target of ['//a:99999/', '//[', '//%zz/', '/%', '//', '/..%2f..%2fetc/passwd', 'http://x/echo/%zz', '*', 'a:1']) {
      const { status, body } = await rawAnswer(target);
      answers[target] = status;
      expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(answers).toEqual({
      '//a:99999/': 404,
      '//[': 404,
      '//%zz/': 400,
      '/%': 400,
      '//': 404,
      '/..%2f..%2fetc/passwd': 404,
      'http://x/echo/%zz': 400,
      '*': 400,
      'a:1': 400,
    });
    // The absolute form names a path like any other.
    expect((await rawAnswer('http://elsewhere.example/nowhere')).status).toBe(404);
    expect((await fetch(`${url}/echo/still-up`, { method: 'POST', body: '{}' })).status).toBe(200);
  });

  it('should mark every answer, errors too, as not to be sniffed or cached', async () => {
    for (const res of [
      await fetch(`${url}/echo/x`, { method: 'POST', body: '{}' }),
      await fetch(`${url}/nowhere`),
      await fetch(`${url}/boom`),
    ]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it("should answer 408 and close the connection when a body does not arrive within its route's time", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(url).port), '127.0.0.1', () =>
        socket.write('POST /slow-body HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"a":'),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
  });

  it('should close the connection instead of reading a body that nobody asked for', async () => {
    // 50 MB declared, 1 MB sent: the 404 comes back at once and the connection is closed, the rest never read.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(url).port), '127.0.0.1', () => {
        socket.write(`POST /nowhere HTTP/1.1\r\nhost: x\r\ncontent-length: ${50 * 1024 * 1024}\r\n\r\n`);
        socket.write(Buffer.alloc(1024 * 1024, 'x'));
      });
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text)); // a reset after the answer is a close too
      setTimeout(() => reject(new Error(`the server kept the connection: ${text}`)), 5000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
  });

  it('should answer 503 with Retry-After to a body past what the server holds of all bodies at once', async () => {
    const { port } = new URL(url);
    // A first body of 60 KiB is held (its last byte never comes); a second one does not fit beside it.
    const first = connect(Number(port), '127.0.0.1', () =>
      first.write(`POST /echo/a HTTP/1.1\r\nhost: x\r\ncontent-length: ${60 * 1024 + 1}\r\n\r\n${'x'.repeat(60 * 1024)}`),
    );
    first.on('error', () => {});
    await sleep(200);
    try {
      const answer = await rawExchange(`POST /echo/b HTTP/1.1\r\nhost: x\r\ncontent-length: ${60 * 1024}\r\n\r\n${'y'.repeat(60 * 1024)}`);
      expect(answer).toMatch(/^HTTP\/1\.1 503 /);
      expect(answer).toMatch(/\r\nretry-after: 5\r\n/);
      expect(answer).toContain('"error":"server_busy"');
    } finally {
      first.destroy();
    }
    await sleep(100);
    // Once the first is gone, its share is free again.
    expect((await fetch(`${url}/echo/c`, { method: 'POST', body: JSON.stringify({ x: 'z'.repeat(60 * 1024) }) })).status).toBe(200);
  });

  it('should answer 429 with Retry-After past the refusals a client may get, and log one line per burst', async () => {
    const before = logs.length;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${url}/refuse`, { method: 'POST' });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(logs.slice(before).filter((line) => line.includes('/refuse'))).toHaveLength(1);
    // Once the window is over: one line counts the burst, and the client may try again.
    await eventually(async () => (logs.some((line) => line.includes('refused 40 requests')) ? true : undefined), 5000);
    expect((await fetch(`${url}/refuse`, { method: 'POST' })).status).toBe(401);
  });
});

describe('http server when full', () => {
  let http: HttpServer;
  let port: number;
  /** The held requests of each group wait until its controller aborts. */
  const groups = new Map<string, AbortController>();
  const group = (name: string) => groups.get(name) ?? (groups.set(name, new AbortController()), groups.get(name)!);

  beforeAll(async () => {
    http = createHttpServer({
      log: () => {},
      maxConnections: 5,
      maxRequestsPerPrincipal: 3,
      headersTimeoutMs: 500,
      routes: [
        { method: 'GET', path: '/healthz', handler: async () => ({ status: 200, body: { status: 'ok' } }) },
        {
          method: 'GET',
          path: '/held',
          handler: async (ctx) => {
            ctx.authenticated(ctx.query.get('who')!);
            const release = group(ctx.query.get('group')!).signal;
            await new Promise((resolve) => release.addEventListener('abort', resolve, { once: true }));
            return { status: 204 };
          },
        },
      ],
    });
    port = Number(new URL(await http.listen('127.0.0.1', 0)).port);
  });
  afterAll(async () => {
    for (const controller of groups.values()) controller.abort();
    await http.close();
  });

  /** A socket that connects and sends `bytes` (nothing by default); resolves once connected. */
  function openSocket(bytes = ''): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        if (bytes) socket.write(bytes);
        resolve(socket);
      });
      socket.resume(); // read, so that the server's close is seen
      socket.on('error', () => {});
      socket.once('error', reject);
    });
  }
  const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

  it('should close a connection that sends no request head in time', async () => {
    const silent = await openSocket();
    const started = Date.now();
    await closed(silent);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('should close the oldest idle connections to make room, so that a new request is served', async () => {
    const slow = await Promise.all(Array.from({ length: 5 }, () => openSocket('GET /healthz HTTP/1.1\r\nho')));
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    await Promise.race(slow.map(closed)); // the oldest, to make room
    for (const socket of slow) socket.destroy();
  });

  it('should answer 429 to a principal past its requests in flight, and take it again once one ends', async () => {
    const held = Array.from({ length: 3 }, () => fetch(`http://127.0.0.1:${port}/held?who=greedy&group=greedy`));
    await sleep(300);
    const fourth = await fetch(`http://127.0.0.1:${port}/held?who=greedy&group=never`);
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toBe('1');
    expect((await fourth.json()).error).toBe('too_many_requests');
    group('greedy').abort();
    expect((await Promise.all(held)).map((res) => res.status)).toEqual([204, 204, 204]);
    const again = fetch(`http://127.0.0.1:${port}/held?who=greedy&group=again`);
    await sleep(200);
    group('again').abort();
    expect((await again).status).toBe(204);
  });

  it('should answer 503 with Retry-After when every connection serves an authenticated request', async () => {
    const held = Array.from({ length: 5 }, (_, i) => fetch(`http://127.0.0.1:${port}/held?who=client${i}&group=full`));
    await sleep(300);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('utf8')));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toMatch(/\r\nretry-after: \d+\r\n/);
    expect(answer).toContain('"error":"server_busy"');
    group('full').abort();
    expect((await Promise.all(held)).map((res) => res.status)).toEqual([204, 204, 204, 204, 204]);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });
});

describe('http server when closing', () => {
  it('should answer a waiting route, end a streaming answer and finish a whole answer begun before the close', async () => {
    const big = { text: 'x'.repeat(512 * 1024) };
    let bigAsked: () => void = () => {};
    const bigStarted = new Promise<void>((resolve) => {
      bigAsked = resolve;
    });
    const http = createHttpServer({
      log: () => {},
      routes: [
        {
          method: 'GET',
          path: '/wait',
          handler: async (ctx) => {
            await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
            return { status: 204 };
          },
        },
        {
          method: 'GET',
          path: '/stream',
          handler: async (ctx) => ({
            status: 200,
            stream: async (res) => {
              while (!ctx.signal.aborted) {
                res.write('tick\n');
                await sleep(20);
              }
            },
          }),
        },
        {
          method: 'GET',
          path: '/big',
          handler: async (ctx) => {
            bigAsked();
            // The answer is made after the close began: it is still the client's, whole.
            await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
            return { status: 200, body: big };
          },
        },
      ],
    });
    const url = await http.listen('127.0.0.1', 0);
    const waiting = fetch(`${url}/wait`);
    const streaming = await fetch(`${url}/stream`);
    const streamed = streaming.text();
    const whole = fetch(`${url}/big`).then((res) => res.json());
    await bigStarted;
    await http.close();
    expect((await waiting).status).toBe(204);
    expect(await streamed).toMatch(/^(tick\n)+$/);
    expect(await whole).toEqual(big);
  });
});
