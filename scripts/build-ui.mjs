#!/usr/bin/env node
// Bundles the dashboard (src/ui) into dist/ui: app.js and app.css minified by esbuild, and the icon, each named by
// a hash of its content (app-3K7TQ2ZC.js), so that the server can let browsers keep them for a year; index.html
// names them and is the one file a browser asks for again. The control plane serves these files; nothing is
// fetched at run time. Each file is also written compressed (.br at brotli's best, .gz), so that the server sends
// them without compressing at start-up. Prints the sizes, so that the bundle's weight is seen at every build.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'ui');
const out = join(root, 'dist', 'ui');
// Files of an older build would be served forever under their old names: start from an empty folder.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: { app: join(src, 'main.tsx') },
  outdir: out,
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
  write: false,
});

/** index.html's names of the files → their hashed names. */
const renamed = new Map();
const sizes = [];
/** Writes a file of the bundle and its compressed copies; resolves to its sizes, for the build's line. */
function emit(path, contents) {
  const brotli = brotliCompressSync(contents, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY } });
  const gzip = gzipSync(contents, { level: 9 });
  writeFileSync(path, contents);
  writeFileSync(`${path}.br`, brotli);
  writeFileSync(`${path}.gz`, gzip);
  const kb = (bytes) => (bytes / 1024).toFixed(1);
  return `${basename(path)} ${kb(contents.length)} KB (${kb(gzip.length)} KB gzip, ${kb(brotli.length)} KB brotli)`;
}

for (const file of result.outputFiles) {
  const name = basename(file.path);
  renamed.set(`/ui/app${extname(name)}`, `/ui/${name}`);
  sizes.push(emit(file.path, file.contents));
}
const icon = readFileSync(join(src, 'icon.svg'));
const iconName = `icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8).toUpperCase()}.svg`;
emit(join(out, iconName), icon);
renamed.set('/ui/icon.svg', `/ui/${iconName}`);

let html = readFileSync(join(src, 'index.html'), 'utf8');
for (const [plain, hashed] of renamed) {
  if (!html.includes(`"${plain}"`))
    throw new Error(`src/ui/index.html does not name ${plain}; the build cannot put ${hashed} in its place.`);
  html = html.replaceAll(`"${plain}"`, `"${hashed}"`);
}
emit(join(out, 'index.html'), Buffer.from(html));
console.log(`dashboard bundle: ${sizes.join(', ')}`);
