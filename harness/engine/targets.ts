// Where variants run, behind one interface: prepare the target, run a command in it from the project
// root (its output streaming to ours), bring back the files the command wrote, stop it. `host` runs
// right here; `qemu` boots a Debian kernel with this machine's userland (vm/qemu.ts), one VM per run.
// A new target (vagrant) is one more implementation and one line in targetFor().

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { EnvironmentError, UsageError } from '../../lib/errors.js';
import { diesWithUs } from '../../lib/process.js';
import { projectRoot } from './paths.js';
import { ensureSetup } from './setup.js';
import type { TargetInfo } from './types.js';
import type { CachedKernel } from '../../vm/kernels.js';

export interface TargetRun {
  /** The command's own exit code. */
  exitCode: number;
  /** The files it wrote into its output directory, by name, with their contents. */
  files: Map<string, string>;
  /** What the target knows about itself that the command inside cannot (accelerator, boot time). */
  info: Partial<TargetInfo>;
  /** Where the target's own log is (a VM's serial console), for an error message. */
  log?: string;
}

export interface RunOptions {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  signal?: AbortSignal;
}

export interface Target {
  kind: TargetInfo['kind'];
  /** "host", "qemu 6.1": for messages. */
  label: string;
  /** Installs or fetches what the target needs (a kernel for qemu); idempotent. */
  prepare(log: (line: string) => void): Promise<void>;
  /** Runs `command(outDir)` (outDir: where the command may write what it brings back) and collects outDir's files. */
  run(command: (outDir: string) => string[], opts?: RunOptions): Promise<TargetRun>;
  /** Stops whatever prepare() or run() left up; idempotent. */
  stop(): Promise<void>;
}

/** A temporary directory for a run's output, removed whatever happens; its files are read first. */
async function withOutDir<T>(work: (dir: string) => Promise<T>): Promise<{ result: T; files: Map<string, string> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ebpf-lab-out-'));
  try {
    const result = await work(dir);
    const files = new Map<string, string>();
    for (const name of await readdir(dir)) files.set(name, await readFile(path.join(dir, name), 'utf8'));
    return { result, files };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** This machine. */
export const hostTarget = (): Target => ({
  kind: 'host',
  label: 'host',
  prepare: async () => {},
  async run(command, opts = {}) {
    const { result, files } = await withOutDir(async (dir) => {
      const [file, ...args] = command(dir);
      const child = execa(...diesWithUs(file, args), { cwd: projectRoot, reject: false, stdin: 'ignore', cancelSignal: opts.signal, buffer: false });
      if (opts.stdout) child.stdout?.pipe(opts.stdout, { end: false });
      if (opts.stderr) child.stderr?.pipe(opts.stderr, { end: false });
      return child;
    });
    opts.signal?.throwIfAborted();
    return { exitCode: result.exitCode ?? 1, files, info: {} };
  },
  stop: async () => {},
});

/**
 * The tools' own settings (BPFTRACE_MAP_KEYS_MAX, BCC_…) in this environment: passed into the guest, so that a
 * tool in a VM runs as it would here (the matrix's test breaks counter/bpftrace this way on purpose).
 */
export function toolEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => /^(BPFTRACE|BCC)_\w+$/.test(e[0]) && e[1] !== undefined));
}

/**
 * A QEMU VM booted on a Debian kernel (or on `files`, a kernel brought with --kernel-image), with this
 * machine's root shared read-only: one boot per run.
 */
export const qemuTarget = (kernel: string, kernelFiles?: CachedKernel): Target => ({
  kind: 'qemu',
  label: `qemu ${kernel}`,
  prepare: async (log) => {
    await ensureSetup({ kernels: kernelFiles ? [] : [kernel], log });
  },
  async run(command, opts = {}) {
    const { runInVm } = await import('../../vm/qemu.js');
    const { result, files } = await withOutDir((dir) =>
      runInVm({ kernel, kernelFiles, command: command(dir), cwd: projectRoot, env: toolEnv(), writable: [dir], stdout: opts.stdout, stderr: opts.stderr, signal: opts.signal }),
    );
    if (result.timedOut) throw new EnvironmentError(`run in VM (${kernel}): timed out; console log: ${result.consoleLog}`);
    const info = { kind: 'qemu', accel: result.accel, bootMs: result.bootMs, emulatorRetries: result.retries.length, ...(result.tcgThread ? { tcgThread: result.tcgThread } : {}), ...(result.qemu ? { qemu: result.qemu } : {}) } as const;
    return { exitCode: result.exitCode, files, info, log: result.consoleLog };
  },
  stop: async () => {}, // runInVm powers the VM off after every command
});

/**
 * The Vagrant VM of vm/Vagrantfile (vm/vagrant.ts): brought up by prepare() (or the first run()), each
 * command run over ssh in the synced project folder as root, its output directory brought back with tar,
 * the VM destroyed by stop(). The box's kernel is the box's: there is no --kernel.
 */
export const vagrantTarget = (): Target => {
  let vm: import('../../vm/vagrant.js').VagrantVm | undefined;
  let accel: 'kvm' | 'tcg' = 'tcg';
  const prepare = async (log: (line: string) => void, signal?: AbortSignal) => {
    if (vm) return;
    const { startVagrant } = await import('../../vm/vagrant.js');
    const { probeAccel } = await import('../../vm/qemu.js');
    const envAccel = process.env.LAB_ACCEL;
    if (envAccel && envAccel !== 'kvm' && envAccel !== 'tcg') throw new UsageError(`LAB_ACCEL=${envAccel} (use kvm or tcg)`);
    accel = (envAccel as 'kvm' | 'tcg' | undefined) ?? (await probeAccel()).accel;
    await ensureSetup({ build: true, log }); // the guest runs the build synced from here
    vm = await startVagrant({ root: projectRoot, accel, log, signal });
  };
  return {
    kind: 'vagrant',
    label: 'vagrant',
    prepare: (log) => prepare(log),
    async run(command, opts = {}) {
      const { GUEST_ROOT } = await import('../../vm/vagrant.js');
      const { shellQuote } = await import('../../vm/qemu.js');
      await prepare((l) => process.stderr.write(`lab vagrant: ${l}\n`), opts.signal);
      const out = `/tmp/ebpf-lab-out-${process.pid}`;
      const env = { LAB_IN_VM: '1', LAB_TARGET_KIND: 'vagrant', LAB_ACCEL: accel, LAB_BOOT_MS: String(vm!.upMs) };
      const line = [
        `rm -rf ${out} && mkdir -p ${out} && cd ${GUEST_ROOT} &&`,
        'sudo env',
        ...Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`),
        ...command(out).map(shellQuote),
      ].join(' ');
      const r = await vm!.ssh(line, { stdout: opts.stdout, stderr: opts.stderr, signal: opts.signal });
      const files = new Map<string, string>();
      const tar = await vm!.ssh(`cd ${out} && tar -cf - .; s=$?; rm -rf ${out}; exit $s`, { encoding: 'buffer', signal: opts.signal });
      if (tar.exitCode === 0 && tar.stdout) {
        await withOutDir(async (dir) => {
          await execa('tar', ['-x', '-C', dir], { input: tar.stdout });
        }).then(({ files: f }) => f.forEach((v, k) => files.set(k, v)));
      }
      return { exitCode: r.exitCode, files, info: { kind: 'vagrant', accel, bootMs: vm!.upMs } };
    },
    async stop() {
      await vm?.stop();
      vm = undefined;
    },
  };
};

/** The target a command line names: host, qemu on a kernel, or the Vagrant VM. */
export function targetFor(kind: string, kernel: string): Target {
  if (kind === 'host') return hostTarget();
  if (kind === 'qemu') return qemuTarget(kernel);
  if (kind === 'vagrant') return vagrantTarget();
  throw new UsageError(`--target must be host, qemu or vagrant, not "${kind}"`);
}
