// A slowloris, in a process of its own so that its work does not slow the test's own probes: opens the given numbers
// of connections (spread over rampMs, as a tool opening them one by one does) that send nothing, trickle a request
// head, or trickle a login body, a byte every 2 s; each one closed is opened again a second later. Runs for `seconds`,
// then prints {"connections": <opened in all>}.
// Usage: node slow-sockets.mjs <port> <silent> <heads> <loginBodies> <seconds> <rampMs>
import { connect } from 'node:net';

const [port, silent, heads, logins, seconds, rampMs] = process.argv.slice(2).map(Number);
const RECONNECT_MS = 1000;
const TRICKLE_MS = 2000;
const head = `GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ${'a'.repeat(100)}`;
const loginBody = `POST /ui/login HTTP/1.1\r\nhost: x\r\norigin: http://x\r\ncontent-length: 4000\r\n\r\n{"adminKey":"${'a'.repeat(3000)}`;
let connections = 0;
let stopped = false;
const open = new Set();

function slow(text, trickles) {
  if (stopped) return;
  connections++;
  let sent = 0;
  const socket = connect(port, '127.0.0.1');
  open.add(socket);
  socket.on('error', () => {});
  socket.resume();
  const timer = trickles ? setInterval(() => socket.writable && socket.write(text[sent++ % text.length]), TRICKLE_MS) : undefined;
  socket.on('close', () => {
    clearInterval(timer);
    open.delete(socket);
    setTimeout(() => slow(text, trickles), RECONNECT_MS);
  });
}

const kinds = [
  ...Array.from({ length: silent }, () => [head, false]),
  ...Array.from({ length: heads }, () => [head, true]),
  ...Array.from({ length: logins }, () => [loginBody, true]),
];
kinds.forEach(([text, trickles], i) => setTimeout(() => slow(text, trickles), (i * rampMs) / kinds.length));
setTimeout(() => {
  stopped = true;
  for (const socket of open) socket.destroy();
  process.stdout.write(`${JSON.stringify({ connections })}\n`);
  process.exit(0);
}, seconds * 1000);
