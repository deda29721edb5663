// Where things are: the project root, and the build output the Makefile writes.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding `lab` and package.json, found from this module upward: the same answer whether the
 * code runs from its sources (harness/) or from the bundle `./lab` builds (build/js/).
 */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'lab')) && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`find project root: no folder with lab and package.json above ${from}`);
  }
}

export const projectRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Output of `make -C bpf` (the libbpf variants): outside the source tree, ignored by git. */
export const buildDir = path.join(projectRoot, 'build', 'bpf');

/** The JavaScript `./lab` builds from the TypeScript (the CLI and the ts tools): no compiler at run time. */
export const jsDir = path.join(projectRoot, 'build', 'js');
