#!/usr/bin/env node
/**
 * Profiles the built runner's hot path: one job of N flood lines (default 10^5) through `node --cpu-prof
 * dist/bin/founderos-runner.js start`, on a fresh in-process control plane, then ranks the functions by self time
 * and groups them by where they live (runner code, RxJS, ky, fetch/undici, Node internals, GC).
 *
 *   npm run build && node bench/profile.mjs [--lines=100000] [--impl=runner|minimal|minimal256] [--server=pglite|null]
 *
 * `--server=null` floods a server that stores nothing (see startNullServer in lib.mjs), so the runner runs at its
 * own limit. Writes bench/results/<impl>-<server>.cpuprofile (open it in Chrome DevTools → Performance) and
 * bench/results/profile-<impl>-<server>.md.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS, ROOT, WORK, cleanupAll, floodJob, floodJobNull } from './lib.mjs';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const lines = Number(arg('lines', '100000'));
const impl = arg('impl', 'runner');
const serverKind = arg('server', 'pglite');
const tag = `${impl}-${serverKind}`;
const TOP = 25;

const dir = join(WORK, 'cpu-prof');
mkdirSync(dir, { recursive: true });
let run;
try {
  process.stderr.write(`profiling ${impl} over ${lines.toLocaleString('en-US')} lines (${serverKind} server)…\n`);
  const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  run = serverKind === 'null' ? await floodJobNull(impl, { lines }, { nodeArgs }) : await floodJob(impl, { lines }, { nodeArgs });
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('the runner wrote no .cpuprofile (did it exit cleanly?)');
  mkdirSync(RESULTS, { recursive: true });
  const kept = join(RESULTS, `${tag}.cpuprofile`);
  renameSync(join(dir, file), kept);
  const report = analyse(JSON.parse(readFileSync(kept, 'utf8')));
  const md = render(report);
  writeFileSync(join(RESULTS, `profile-${tag}.md`), md);
  process.stdout.write(md);
} finally {
  await cleanupAll();
}

function categoryOf({ functionName, url }) {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return 'native';
  }
  if (url.includes('node_modules/rxjs/')) return 'rxjs';
  if (url.includes('node_modules/ky/')) return 'ky';
  if (url.includes('node_modules/')) return `npm: ${url.split('node_modules/')[1].split('/')[0]}`;
  if (url.startsWith('node:internal/deps/undici')) return 'undici (fetch)';
  if (url.startsWith('node:')) return 'node internals';
  if (url.startsWith(`file://${ROOT}dist/`)) return 'runner (dist/)';
  return 'other';
}

function keyOf(frame) {
  const where = frame.url ? `${frame.url.replace(`file://${ROOT}`, '').replace(/^\//, '')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}\t${where}`;
}

function analyse(profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  // Inclusive ("total") time of the runner's own functions: each sample counts once for every distinct
  // dist/ function on its stack, so a stage's share includes the libraries it calls.
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    if (categoryOf(nodes.get(id).callFrame) === 'idle') continue;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const frame = nodes.get(at).callFrame;
      if (!frame.url.startsWith(`file://${ROOT}dist/`)) continue;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const byFunction = new Map();
  const byCategory = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = nodes.get(id).callFrame;
    const category = categoryOf(frame);
    if (category === 'idle') {
      idle += us;
      continue;
    }
    total += us;
    const key = keyOf(frame);
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
  }
  const rank = (map) => [...map].sort((a, b) => b[1] - a[1]);
  return { total, idle, functions: rank(byFunction), categories: rank(byCategory), inclusive: rank(inclusive) };
}

function render({ total, idle, functions, categories, inclusive }) {
  const ms = (us) => (us / 1000).toFixed(0);
  const pct = (us) => `${((100 * us) / total).toFixed(1)} %`;
  const out = [];
  out.push(
    `### CPU profile of the ${impl} over ${lines.toLocaleString('en-US')} flood lines (${serverKind === 'null' ? 'null server' : 'reference server on PGlite'})`,
  );
  out.push('');
  out.push(
    `\`node bench/profile.mjs --lines=${lines} --impl=${impl} --server=${serverKind}\`; the job took ${run.seconds.toFixed(1)} s ` +
      `(${Math.round(run.linesPerSec).toLocaleString('en-US')} lines/s); ${ms(total)} ms on CPU in the profiled process, ${ms(idle)} ms idle. ` +
      'Shares are of the non-idle time.',
  );
  out.push('');
  out.push('| Where | Self time | Share |');
  out.push('|---|---:|---:|');
  for (const [category, us] of categories) out.push(`| ${category} | ${ms(us)} ms | ${pct(us)} |`);
  out.push('');
  out.push(`| # | Function | Location | Self time | Share |`);
  out.push('|---:|---|---|---:|---:|');
  functions.slice(0, TOP).forEach(([key, us], i) => {
    const [name, where] = key.split('\t');
    out.push(`| ${i + 1} | \`${name}\` | ${where ? `\`${where}\`` : ''} | ${ms(us)} ms | ${pct(us)} |`);
  });
  if (inclusive.length) {
    out.push('');
    out.push("Total (inclusive) time of the runner's own functions, libraries they call included:");
    out.push('');
    out.push(`| # | Function | Location | Total time | Share |`);
    out.push('|---:|---|---|---:|---:|');
    inclusive.slice(0, TOP).forEach(([key, us], i) => {
      const [name, where] = key.split('\t');
      out.push(`| ${i + 1} | \`${name}\` | \`${where}\` | ${ms(us)} ms | ${pct(us)} |`);
    });
  }
  return `${out.join('\n')}\n`;
}
