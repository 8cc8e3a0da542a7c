/**
 * The dashboard's files: named by their hash and kept a year, index.html asked for again (304 while unchanged),
 * each compressed the way the browser accepts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { acceptedEncodings, loadUiBundle } from '../../src/control-plane/dashboard/static.js';

const SCRIPT = `console.log(${JSON.stringify('the dashboard '.repeat(200))});`;

async function bundle() {
  const dir = mkdtempSync(join(tmpdir(), 'fos-ui-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/ui/app-ABCD1234.js"></script>');
  writeFileSync(join(dir, 'app-ABCD1234.js'), SCRIPT);
  writeFileSync(join(dir, 'app-ABCD1234.js.map'), '{}');
  return loadUiBundle(dir);
}

describe('loadUiBundle', () => {
  it('should let browsers keep a hashed file for a year, and ask again for index.html', async () => {
    const ui = await bundle();
    expect(ui.file('app-ABCD1234.js')!.headers).toMatchObject({
      'cache-control': 'public, max-age=31536000, immutable',
      vary: 'accept-encoding',
    });
    expect(ui.file('index.html')!.headers).toMatchObject({
      'cache-control': 'no-cache',
      'content-security-policy': expect.stringContaining("script-src 'self'"),
    });
    expect(ui.file('app-ABCD1234.js.map')).toBeUndefined();
    expect(ui.file('app.js')).toBeUndefined();
  });

  it('should send brotli, else gzip, else the file as it is, as the browser accepts', async () => {
    const ui = await bundle();
    const br = ui.file('app-ABCD1234.js', { 'accept-encoding': 'gzip, deflate, br' })!;
    expect(br.headers!['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.raw!).toString()).toBe(SCRIPT);
    expect(br.raw!.length).toBeLessThan(SCRIPT.length / 10);
    const gzip = ui.file('app-ABCD1234.js', { 'accept-encoding': 'gzip, br;q=0' })!;
    expect(gzip.headers!['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.raw!).toString()).toBe(SCRIPT);
    const plain = ui.file('app-ABCD1234.js', {})!;
    expect(plain.headers!['content-encoding']).toBeUndefined();
    expect(plain.raw!.toString()).toBe(SCRIPT);
  });

  it('should answer 304 to a browser that holds the same file in the same encoding, each encoding with its ETag', async () => {
    const ui = await bundle();
    const etag = (request: Record<string, string>) => (ui.file('app-ABCD1234.js', request)!.headers as Record<string, string>).etag!;
    const plain = etag({});
    const br = etag({ 'accept-encoding': 'br' });
    expect(plain).toMatch(/^"[\w-]{22}"$/);
    expect(br).toBe(plain.replace(/"$/, '-br"'));
    expect(etag({ 'accept-encoding': 'gzip' })).toBe(plain.replace(/"$/, '-gzip"'));
    const again = ui.file('app-ABCD1234.js', { 'if-none-match': br, 'accept-encoding': 'br' })!;
    expect(again.status).toBe(304);
    expect(again.raw).toBeUndefined();
    // The same ETag asked for in another encoding is another representation: the bytes are sent.
    expect(ui.file('app-ABCD1234.js', { 'if-none-match': br, 'accept-encoding': 'gzip' })!.status).toBe(200);
    expect(ui.file('app-ABCD1234.js', { 'if-none-match': '"other"' })!.status).toBe(200);
  });

  it("should send the build's compressed copies when it made them", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fos-ui-built-'));
    writeFileSync(join(dir, 'index.html'), SCRIPT);
    writeFileSync(join(dir, 'index.html.br'), 'made by the build');
    const ui = await loadUiBundle(dir);
    expect(ui.file('index.html', { 'accept-encoding': 'br' })!.raw!.toString()).toBe('made by the build');
    expect(ui.file('index.html.br')).toBeUndefined();
  });

  it('should answer 503 with how to build it when there is no bundle', async () => {
    const ui = await loadUiBundle(mkdtempSync(join(tmpdir(), 'fos-ui-empty-')));
    const page = ui.file('index.html')!;
    expect(page.status).toBe(503);
    expect(page.raw!.toString()).toContain('npm run build');
  });
});

describe('acceptedEncodings', () => {
  it('should read the list, leaving out what q=0 refuses', () => {
    expect([...acceptedEncodings('gzip, deflate, br;q=0.5, zstd;q=0')]).toEqual(['gzip', 'deflate', 'br']);
    expect([...acceptedEncodings(undefined)]).toEqual([]);
  });
});
