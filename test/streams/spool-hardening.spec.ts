import { chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { openOutputFile } from '../../src/streams/output-file.js';
import { PrivateDirError, ensurePrivateDir } from '../../src/streams/private-dir.js';
import { withPrivateFile } from '../../src/streams/private-file.js';
import { findLeftovers, openJobSpool, prepareSpoolDir } from '../../src/streams/spool.js';

const newDir = () => mkdtempSync(join(tmpdir(), 'spool-hardening-'));
/** A file of someone else's that a planted link points at: it must come out of every open exactly as it went in. */
const victim = (dir: string) => {
  const path = join(dir, 'victim.txt');
  writeFileSync(path, 'untouched\n');
  return path;
};
const isRoot = process.getuid?.() === 0;

describe('the spool directory: private to the runner’s user', () => {
  it('should make an existing directory that others may enter 0700', () => {
    const dir = join(newDir(), 'spool');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    prepareSpoolDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('should refuse a directory that belongs to another user, saying whose it is and what to do', () => {
    const dir = newDir();
    chmodSync(dir, 0o755);
    const someoneElse = statSync(dir).uid + 1;
    const refusal = (() => {
      try {
        ensurePrivateDir(dir, 'spool directory', '--spool-dir', someoneElse);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(PrivateDirError);
    expect((refusal as PrivateDirError).message).toMatch(
      new RegExp(`belongs to uid ${statSync(dir).uid}, not to you \\(uid ${someoneElse}\\)`),
    );
    expect((refusal as PrivateDirError).fix).toMatch(/--spool-dir=PATH.*chown/);
    // Refused as it was found: its mode is not changed for someone else.
    expect(statSync(dir).mode & 0o777).toBe(0o755);
  });

  it.skipIf(!isRoot)('should refuse, as root, a 0777 spool directory owned by nobody, and leave it as it was', () => {
    const dir = join(newDir(), 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    chownSync(dir, 65534, 65534);
    expect(() => prepareSpoolDir(dir)).toThrow(PrivateDirError);
    expect(statSync(dir).mode & 0o777).toBe(0o777);
  });

  it('should refuse a path that is a file', () => {
    const file = join(newDir(), 'file');
    writeFileSync(file, '');
    expect(() => prepareSpoolDir(file)).toThrow();
  });
});

describe('spool files: never opened through a symbolic link', () => {
  it("should replace a link planted at a job's spool file by a new file, and write nothing through it", () => {
    const dir = newDir();
    const target = victim(dir);
    symlinkSync(target, join(dir, 'job-1.ndjson'));
    const spool = openJobSpool(dir, 'job-1', 'https://x.example.com');
    spool.appendBatch('{"events":[{"seq":0}]}');
    expect(lstatSync(join(dir, 'job-1.ndjson')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(dir, 'job-1.ndjson'), 'utf8')).toContain('"events"');
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
  });

  it("should refuse to open an agent's output file that is a link (ELOOP), writing nothing through it", () => {
    const dir = newDir();
    const target = victim(dir);
    symlinkSync(target, join(dir, 'job-1.stdout'));
    expect(() =>
      openOutputFile(
        join(dir, 'job-1.stdout'),
        () => {},
        () => {},
      ),
    ).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
  });

  it('should not follow a link planted as a leftover spool: it is handed over as unreadable', () => {
    const dir = newDir();
    const target = victim(dir);
    symlinkSync(target, join(dir, 'job-2.ndjson'));
    const unreadable: unknown[] = [];
    expect(
      findLeftovers(
        dir,
        () => false,
        (_path, error) => unreadable.push(error),
      ),
    ).toEqual([]);
    expect(unreadable).toEqual([expect.objectContaining({ code: 'ELOOP' })]);
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
  });

  it('should write the instructions into a new file, never through a link planted in its place', async () => {
    const dir = newDir();
    const target = victim(dir);
    const path = join(dir, 'job-1.instructions.md');
    symlinkSync(target, path);
    const seen = await lastValueFrom(
      withPrivateFile(path, 'be brief', (file) => of([readFileSync(file, 'utf8'), statSync(file).mode & 0o777])),
    );
    expect(seen).toEqual(['be brief', 0o600]);
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
  });
});
