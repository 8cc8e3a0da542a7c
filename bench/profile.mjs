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
import { analyseProfile, renderProfile } from './cpu-profile.mjs';
import { RESULTS, WORK, cleanupAll, floodJob, floodJobNull } from './lib.mjs';

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
  const report = analyseProfile(JSON.parse(readFileSync(kept, 'utf8')));
  const md = render(report);
  writeFileSync(join(RESULTS, `profile-${tag}.md`), md);
  process.stdout.write(md);
} finally {
  await cleanupAll();
}

function render(report) {
  const ms = (us) => (us / 1000).toFixed(0);
  const out = [];
  out.push(
    `### CPU profile of the ${impl} over ${lines.toLocaleString('en-US')} flood lines (${serverKind === 'null' ? 'null server' : 'reference server on PGlite'})`,
  );
  out.push('');
  out.push(
    `\`node bench/profile.mjs --lines=${lines} --impl=${impl} --server=${serverKind}\`; the job took ${run.seconds.toFixed(1)} s ` +
      `(${Math.round(run.linesPerSec).toLocaleString('en-US')} lines/s); ${ms(report.total)} ms on CPU in the profiled process, ${ms(report.idle)} ms idle. ` +
      'Shares are of the non-idle time.',
  );
  out.push('');
  return `${out.join('\n')}${renderProfile(report, { top: TOP, ownCode: "the runner's" })}`;
}
