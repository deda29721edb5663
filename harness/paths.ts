// Where things are: the project root, and the build output the Makefile writes.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Output of `make -C bpf` (the libbpf variants): outside the source tree, ignored by git. */
export const buildDir = path.join(projectRoot, 'build', 'bpf');
