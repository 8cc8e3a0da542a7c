/**
 * The dashboard's files: the bundle `npm run build` writes to dist/ui (index.html, app.js, app.css, icon), read
 * once at start-up and served from memory with a strict Content-Security-Policy. Nothing is fetched from
 * anywhere else, so the policy allows only this origin, and no inline script or style at all.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reply } from '../http-server.js';

/** dist/ui, from this file in dist/control-plane/dashboard (built) or in src/control-plane/dashboard (tests). */
export const UI_BUNDLE_DIR = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  // No HTML from strings at all: a stray innerHTML would throw instead of rendering agent output as markup.
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** On every dashboard answer, API ones included: nothing may frame it, sniff it or leak its URLs. */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface UiBundle {
  /** The answer for a file name in the bundle (`index.html`, `app.js`, …), or undefined for an unknown one. */
  file(name: string): Reply | undefined;
}

const NOT_BUILT_PAGE = Buffer.from(
  '<!doctype html><meta charset="utf-8"><title>FounderOS dashboard</title>' +
    '<p>The dashboard is not built. Run <code>npm run build</code> in the founderos-runner package, then restart the server.</p>',
);

export async function loadUiBundle(dir = UI_BUNDLE_DIR): Promise<UiBundle> {
  const files = new Map<string, Reply>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const type = CONTENT_TYPES[extname(name)];
    if (type === undefined) continue; // source maps and the like stay private
    const raw = await readFile(join(dir, name));
    // no-cache: the browser asks again (cheaply) after an upgrade instead of running an old bundle.
    files.set(name, { status: 200, raw, headers: { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-cache' } });
  }
  if (!files.has('index.html')) {
    files.set('index.html', {
      status: 503,
      raw: NOT_BUILT_PAGE,
      headers: { ...SECURITY_HEADERS, 'content-type': CONTENT_TYPES['.html']! },
    });
  }
  return { file: (name) => files.get(name) };
}
