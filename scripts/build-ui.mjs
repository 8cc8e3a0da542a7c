#!/usr/bin/env node
// Bundles the dashboard (src/ui) into dist/ui: app.js and app.css minified by esbuild, index.html and the icon
// copied. The control plane serves these files; nothing is fetched at run time. Prints the sizes, so that the
// bundle's weight is seen at every build.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { app: join(root, 'src', 'ui', 'main.tsx') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'icon.svg']) copyFileSync(join(root, 'src', 'ui', file), join(out, file));

const sizes = ['app.js', 'app.css'].map((file) => {
  const bytes = statSync(join(out, file)).size;
  const gzip = gzipSync(readFileSync(join(out, file))).length;
  return `${file} ${(bytes / 1024).toFixed(1)} KB (${(gzip / 1024).toFixed(1)} KB gzip)`;
});
console.log(`dashboard bundle: ${sizes.join(', ')}`);
