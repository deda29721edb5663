// `./lab test [part]`: the tap suite, split by what each test needs. A test file's name says it:
//   *.test.ts         unit   — no root, no kernel; fast
//   *.kernel.test.ts  kernel — loads programs into the running kernel
//   *.vm.test.ts      vm     — boots Debian kernels in QEMU
//   *.notebook.test.ts notebooks — executes notebooks/ through Jupyter (on this kernel and in a VM)
//   *.lab.test.ts     labs   — ./lab grade on the labs' references, starters and fixtures, in VMs
// Parts run one after the other, so a kernel test never competes with a VM for the two CPUs.

import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../../lib/errors.js';
import { ensureSetup } from '../engine/setup.js';
import { projectRoot } from '../engine/paths.js';
import { MATRIX_KERNELS } from './matrix.js';
import { registerTslab } from './notebook.js';

interface Part {
  /** Which test files belong to the part. */
  matches: (file: string) => boolean;
  /** Test files run in parallel. */
  jobs: number;
  /** Per test file, in seconds. */
  timeout: number;
}

const PARTS: Record<string, Part | { missing: string }> = {
  unit: { matches: (f) => f.endsWith('.test.ts') && !/\.(kernel|vm|notebook|lab)\.test\.ts$/.test(f), jobs: 2, timeout: 120 },
  kernel: { matches: (f) => f.endsWith('.kernel.test.ts'), jobs: 1, timeout: 300 },
  vm: { matches: (f) => f.endsWith('.vm.test.ts'), jobs: 1, timeout: 1200 },
  notebooks: { matches: (f) => f.endsWith('.notebook.test.ts'), jobs: 1, timeout: 1800 },
  labs: { matches: (f) => f.endsWith('.lab.test.ts'), jobs: 1, timeout: 900 },
};

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(projectRoot, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

export async function testCommand(argv: string[]): Promise<number> {
  const asked = argv.filter((a) => !a.startsWith('-'));
  const passThrough = argv.filter((a) => a.startsWith('-'));
  for (const a of asked) if (!(a in PARTS)) throw new UsageError(`unknown part "${a}" (parts: ${Object.keys(PARTS).join(', ')})`);
  const names = asked.length > 0 ? asked : Object.keys(PARTS);

  const files = await testFiles(path.join(projectRoot, 'test'));
  // everything tests rely on is installed and built once, here, not inside each test
  // (the notebooks part boots the 6.1 VM too: ./lab notebook --kernel 6.1; so does labs: ./lab grade)
  const kernels = new Set([...(names.includes('vm') ? MATRIX_KERNELS.filter((k) => k !== 'host') : []), ...(names.includes('notebooks') || names.includes('labs') ? ['6.1'] : [])]);
  await ensureSetup({ build: true, kernels: [...kernels], log: (l) => process.stderr.write(`lab test: ${l}\n`) });
  // the notebooks' tests start Jupyter kernels named tslab: on a new machine nothing registered it yet
  // (./lab notebook does, and the first test to run is not that one)
  if (names.includes('notebooks') && (await registerTslab())) process.stderr.write('lab test: registered the TypeScript kernel (tslab) with Jupyter\n');

  let failed = false;
  for (const name of names) {
    const part = PARTS[name];
    if ('missing' in part) {
      process.stderr.write(`lab test ${name}: no tests — ${part.missing}\n`);
      if (asked.includes(name)) return 2; // asked for explicitly: not implemented
      continue;
    }
    const selected = files.filter(part.matches);
    if (selected.length === 0) {
      process.stderr.write(`lab test ${name}: no test files\n`);
      continue;
    }
    process.stderr.write(`lab test: ${name} (${selected.length} files)\n`);
    const tap = path.join(projectRoot, 'node_modules', '.bin', 'tap');
    const result = await execa(tap, ['--jobs', String(part.jobs), '--timeout', String(part.timeout), ...passThrough, ...selected], {
      cwd: projectRoot,
      stdio: 'inherit',
      reject: false,
    });
    if (result.exitCode !== 0) failed = true;
  }
  return failed ? 1 : 0;
}
