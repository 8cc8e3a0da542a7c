/**
 * Reading a V8 CPU profile (.cpuprofile): self time by function and by where the code lives, and the inclusive time
 * of this project's own functions. Used by bench/profile.mjs (the runner) and bench/load.mjs (the server).
 */
import { ROOT } from './lib.mjs';

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
  if (url.startsWith(`file://${ROOT}dist/control-plane/`)) return 'control plane (dist/control-plane)';
  if (url.startsWith(`file://${ROOT}dist/`)) return 'runner (dist/)';
  if (url.startsWith('wasm://')) return 'WebAssembly (PGlite; in a runner, undici)';
  return 'other';
}

function keyOf(frame) {
  const where = frame.url ? `${frame.url.replace(`file://${ROOT}`, '').replace(/^\//, '')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'}\t${where}`;
}

export function analyseProfile(profile) {
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

/** Markdown tables of a report: where the time went, the top functions by self time, and this project's by total time. */
export function renderProfile({ total, functions, categories, inclusive }, { top = 25, ownCode = "this project's" } = {}) {
  const ms = (us) => (us / 1000).toFixed(0);
  const pct = (us) => `${((100 * us) / total).toFixed(1)} %`;
  const out = [];
  out.push('| Where | Self time | Share |');
  out.push('|---|---:|---:|');
  for (const [category, us] of categories) out.push(`| ${category} | ${ms(us)} ms | ${pct(us)} |`);
  out.push('');
  out.push(`| # | Function | Location | Self time | Share |`);
  out.push('|---:|---|---|---:|---:|');
  functions.slice(0, top).forEach(([key, us], i) => {
    const [name, where] = key.split('\t');
    out.push(`| ${i + 1} | \`${name}\` | ${where ? `\`${where}\`` : ''} | ${ms(us)} ms | ${pct(us)} |`);
  });
  if (inclusive.length) {
    out.push('');
    out.push(`Total (inclusive) time of ${ownCode} own functions, libraries they call included:`);
    out.push('');
    out.push(`| # | Function | Location | Total time | Share |`);
    out.push('|---:|---|---|---:|---:|');
    inclusive.slice(0, top).forEach(([key, us], i) => {
      const [name, where] = key.split('\t');
      out.push(`| ${i + 1} | \`${name}\` | \`${where}\` | ${ms(us)} ms | ${pct(us)} |`);
    });
  }
  return `${out.join('\n')}\n`;
}
