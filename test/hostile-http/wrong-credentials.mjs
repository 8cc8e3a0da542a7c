// A flood of wrong credentials, in a process of its own so that its work does not slow the test's own probes: `count`
// requests, `concurrency` at a time, cycling through a wrong admin key, a wrong (well-formed) runner token and a wrong
// dashboard login. Prints the answers' statuses as {"<status>": <count>}.
// Usage: node wrong-credentials.mjs <url> <count> <concurrency>
import { randomUUID } from 'node:crypto';

const [url, count, concurrency] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const wrongToken = `fos_${'W'.repeat(32)}`;
const statuses = {};
let next = 0;

async function one(i) {
  const kind = i % 3;
  const res =
    kind === 0
      ? await fetch(`${url}/api/admin/jobs`, { headers: { authorization: `Bearer fosadmin_wrong${i}` } })
      : kind === 1
        ? await fetch(`${url}/api/runner/jobs/${randomUUID()}/claim`, {
            method: 'POST',
            headers: { authorization: `Bearer ${wrongToken}` },
          })
        : await fetch(`${url}/ui/login`, { method: 'POST', headers: { origin: url }, body: `{"adminKey":"wrong${i}"}` });
  await res.arrayBuffer();
  statuses[res.status] = (statuses[res.status] ?? 0) + 1;
}

await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < count) await one(next++).catch(() => (statuses.failed = (statuses.failed ?? 0) + 1));
  }),
);
process.stdout.write(`${JSON.stringify(statuses)}\n`);
