/**
 * The dashboard's files: the bundle `npm run build` writes to dist/ui (each file with its brotli and gzip copies,
 * made at build time), read once at start-up and served from memory with a strict Content-Security-Policy. The bundle's files are named by
 * a hash of their content, so a browser keeps them for a year without asking again; index.html, which names
 * them, is asked for again each time and answered 304 while it is unchanged. Nothing is fetched from anywhere
 * else, so the policy allows only this origin, and no inline script or style at all.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
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

const HTML_TYPE = 'text/html; charset=utf-8';
const CONTENT_TYPES: Record<string, string> = {
  '.html': HTML_TYPE,
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A name the build gave from the content's hash (`app-3K7TQ2ZC.js`): what it names never changes. */
const HASHED_NAME = /-[A-Z0-9]{8}\.[a-z]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html (and any file not named by its hash): kept, but asked for again each time, cheaply with its ETag. */
const REVALIDATE = 'no-cache';

/** The parts of a request that choose the answer. */
export type FileRequest = Pick<IncomingHttpHeaders, 'accept-encoding' | 'if-none-match'>;

export interface UiBundle {
  /** The answer for a file name in the bundle (`index.html`, `app-….js`, …), or undefined for an unknown one. */
  file(name: string, request?: FileRequest): Reply | undefined;
}

interface BundleFile {
  headers: Record<string, string>;
  raw: Buffer;
  /** Of the content, for the ETags. */
  hash: string;
  /** Each encoding that makes the file smaller, best first. */
  encoded: Array<{ encoding: 'br' | 'gzip'; body: Buffer }>;
}

const NOT_BUILT_PAGE = Buffer.from(
  '<!doctype html><meta charset="utf-8"><title>FounderOS dashboard</title>' +
    '<p>The dashboard is not built. Run <code>npm run build</code> in the founderos-runner package, then restart the server.</p>',
);

/** The encodings a request accepts (`gzip, deflate, br;q=0.5`), without those it refuses with q=0. */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const accepted = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name !== '' && (q === undefined || Number(q.slice(2)) > 0)) accepted.add(name);
  }
  return accepted;
}

/** Whether an If-None-Match header names this ETag (or `*`). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/**
 * A file's brotli and gzip copies: the build's (`app-….js.br`, `.gz`), else made now, quickly (brotli at its best
 * takes a third of a second for the bundle: a start-up cost worth paying once, at build time). Only those smaller
 * than the file are kept.
 */
async function compressed(path: string, raw: Buffer): Promise<BundleFile['encoded']> {
  const built = async (suffix: string) => readFile(`${path}${suffix}`).catch(() => undefined);
  const encoded: BundleFile['encoded'] = [
    { encoding: 'br', body: (await built('.br')) ?? brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }) },
    { encoding: 'gzip', body: (await built('.gz')) ?? gzipSync(raw) },
  ];
  return encoded.filter((e) => e.body.length < raw.length);
}

/**
 * The file as the request accepts it, or 304 when the browser holds that very representation: each encoding has an
 * ETag of its own (the content's hash, then the encoding), as the bytes differ.
 */
function answer(file: BundleFile, request: FileRequest = {}): Reply {
  const accepted = acceptedEncodings(request['accept-encoding']);
  const chosen = file.encoded.find((e) => accepted.has(e.encoding));
  const etag = chosen ? `"${file.hash}-${chosen.encoding}"` : `"${file.hash}"`;
  const headers = { ...file.headers, etag };
  if (matchesEtag(request['if-none-match'], etag)) return { status: 304, headers };
  if (!chosen) return { status: 200, raw: file.raw, headers };
  return { status: 200, raw: chosen.body, headers: { ...headers, 'content-encoding': chosen.encoding } };
}

export async function loadUiBundle(dir = UI_BUNDLE_DIR): Promise<UiBundle> {
  const files = new Map<string, BundleFile>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const type = CONTENT_TYPES[extname(name)];
    if (type === undefined) continue; // source maps and the like stay private
    const path = join(dir, name);
    const raw = await readFile(path);
    files.set(name, {
      raw,
      hash: createHash('sha256').update(raw).digest('base64url').slice(0, 22),
      encoded: await compressed(path, raw),
      headers: {
        ...SECURITY_HEADERS,
        'content-type': type,
        'cache-control': HASHED_NAME.test(name) ? IMMUTABLE : REVALIDATE,
        vary: 'accept-encoding',
      },
    });
  }
  if (!files.has('index.html')) {
    const notBuilt: Reply = { status: 503, raw: NOT_BUILT_PAGE, headers: { ...SECURITY_HEADERS, 'content-type': HTML_TYPE } };
    return { file: (name) => (name === 'index.html' ? notBuilt : undefined) };
  }
  return {
    file: (name, request) => {
      const file = files.get(name);
      return file && answer(file, request);
    },
  };
}
