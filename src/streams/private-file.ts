import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Observable } from 'rxjs';

/**
 * Writes `content` to a file only the current user can read (directory 0700, file 0600), hands its path
 * to `use`, and removes it when the returned Observable ends, however it ends.
 */
export function withPrivateFile<T>(name: string, content: string, use: (path: string) => Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const dir = mkdtempSync(join(tmpdir(), 'founderos-runner-'));
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    const subscription = use(path).subscribe(subscriber);
    return () => {
      subscription.unsubscribe();
      rmSync(dir, { recursive: true, force: true });
    };
  });
}
