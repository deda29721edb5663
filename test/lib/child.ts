// Helpers for tests that drive ./lab as a child process.

import type { ResultPromise } from 'execa';

/** Resolves once the child's stderr has shown `pattern`, or once the child has ended (whichever is first). */
export function stderrShows(child: ResultPromise, pattern: RegExp): Promise<void> {
  return new Promise<void>((resolve) => {
    let seen = '';
    child.stderr!.on('data', (d: Buffer) => {
      seen += String(d);
      if (pattern.test(seen)) resolve();
    });
    void child.then(() => resolve());
  });
}
