// Installation and build: everything `./lab compare` and `./lab test` need, done once and skipped
// when already in place (`./lab setup` is commands/setup.ts). Debian and npm packages are installed by the ./lab script itself (it must
// run before node_modules exists); this module builds the libbpf and Go variants, fetches the VM kernels,
// and reports what it did.

import { execa } from 'execa';
import { EnvironmentError } from '../../lib/errors.js';
import { projectRoot } from './paths.js';

export interface SetupNeeds {
  /** Build the libbpf and Go variants (make -C bpf). */
  build?: boolean;
  /** Debian kernels to fetch (with headers) for the VM target: '6.1', … */
  kernels?: string[];
  /** One line per action taken. */
  log?: (line: string) => void;
}

/** Runs `make -C bpf`; returns true when something was rebuilt. */
export async function buildBpf(log: (line: string) => void): Promise<boolean> {
  const q = await execa('make', ['-C', 'bpf', '-q'], { cwd: projectRoot, reject: false });
  if (q.exitCode === 0) return false; // up to date
  log('building the libbpf and Go variants (make -C bpf)');
  const r = await execa('make', ['-C', 'bpf'], { cwd: projectRoot, reject: false, all: true });
  if (r.exitCode !== 0) {
    const tail = String(r.all ?? '').split('\n').slice(-15).join('\n');
    throw new EnvironmentError(`build libbpf variants: make -C bpf failed (exit ${r.exitCode}):\n${tail}`);
  }
  return true;
}

/** Brings the machine to what `needs` asks for; returns the lines describing what was done. */
export async function ensureSetup(needs: SetupNeeds): Promise<string[]> {
  const done: string[] = [];
  const log = (l: string) => {
    done.push(l);
    needs.log?.(l);
  };
  if (process.env.LAB_INSTALLED_DEBIAN) log(`installed Debian packages: ${process.env.LAB_INSTALLED_DEBIAN}`);
  if (process.env.LAB_INSTALLED_NPM) log('installed npm packages (npm ci)');
  if (needs.build) await buildBpf(log);
  for (const k of needs.kernels ?? []) {
    const { ensureKernel } = await import('../../vm/kernels.js');
    const cached = await ensureKernel(k, { headers: true, onProgress: (line: string) => needs.log?.(line) });
    log(`kernel ${k}: ${cached.release} ready in ${cached.dir}`);
  }
  if (needs.kernels?.length) {
    // a guest under TCG needs a QEMU without the multi-threaded TCG race: fetched now, not mid-run
    const { qemuVersion } = await import('../../vm/qemu.js');
    const { tcgPlan } = await import('../../vm/qemu-build.js');
    log(`guests under TCG: ${(await tcgPlan(await qemuVersion(), (line: string) => needs.log?.(line))).why}`);
  }
  return done;
}
