import { rmSync } from 'node:fs';
import { Observable } from 'rxjs';
import { writeNewFile } from './open-flags.js';

/**
 * Writes `content` to `path` as a file only the current user can read (mode 0600, created afresh: a file left there
 * by a killed run is replaced, never reused with its old mode), hands the path to `use`, and removes the file when
 * the returned Observable ends, however it ends. `path` should be in a private directory (the spool's, 0700) that a
 * later start looks in, so that a file a killed runner left behind is found and removed.
 */
export function withPrivateFile<T>(path: string, content: string | Uint8Array, use: (path: string) => Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    rmSync(path, { force: true });
    writeNewFile(path, content);
    const subscription = use(path).subscribe(subscriber);
    return () => {
      subscription.unsubscribe();
      rmSync(path, { force: true });
    };
  });
}
