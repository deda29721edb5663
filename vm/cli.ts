// `./lab vm …`: run a command inside a VM booted on a Debian kernel, list and fetch kernels, probe KVM.

import { copyFile, stat, writeFile } from 'node:fs/promises';
import { parseOptions } from '../lib/args.js';
import { UsageError } from '../lib/errors.js';
import { interruptible } from '../lib/process.js';
import { cacheDir } from './cache.js';
import { ensureKernel, KERNELS, kernelSpec, listKernels, type KernelListing } from './kernels.js';
import { probeAccel, runInVm, type Accel } from './qemu.js';

export const USAGE = `usage:
  ./lab vm run --kernel K [--timeout S] [--memory MB] [--cpus N] [--writable DIR]... [--env NAME=VALUE]...
               [--cwd DIR] [--accel kvm|tcg] [--no-headers] [--verbose] -- CMD [ARG...]
      boot kernel K (${KERNELS.map((k) => k.name).join(', ')}) with the host's userland and run CMD inside;
      CMD's stdout and stderr come back separately and its exit code becomes ours
      (124: timed out, 130/143: interrupted; 2: bad usage or the VM could not run)
  ./lab vm kernels [--refresh] [--offline] [--json]
      the kernels that can be fetched (what Debian's archive resolves them to) and those cached
  ./lab vm fetch [K...] [--no-headers] [--refresh]
      download kernels (default: all) and their headers into the cache
  ./lab vm accel [--refresh]
      whether KVM works here or VMs run under TCG, and why
  ./lab vm stress [--kernels 6.1,6.12,7.2] [--modes multi,single,1cpu,backports] [--guests N] [--cycles C] [--json F]
      boots N guests per kernel and TCG mode, interleaved, each attaching and detaching tracers on the
      syscall tracepoints C times while every vCPU makes syscalls, and counts the guests whose kernel
      broke or hung; exit 1 when one did (modes: the system's QEMU with a host thread per vCPU, its default:
      multi; with one thread for both vCPUs: single; with one vCPU: 1cpu; bookworm-backports' QEMU: backports)
  ./lab vm vagrant-box [--rebuild] [--output FILE]
      build the project's Vagrant box (libvirt provider) offline from Debian packages, cached by its
      inputs; prints the .box file's path (--output copies it there, to hand out)
`;

function parse<T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(argv: string[], options: T, positionals = false) {
  return parseOptions({ args: argv, options, allowPositionals: positionals }, USAGE);
}

function positiveInt(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${what} must be a positive number, not "${value}"`);
  return n;
}

async function runCommand(argv: string[]): Promise<number> {
  const dashes = argv.indexOf('--');
  if (dashes < 0) throw new UsageError(`put the command after --: ./lab vm run --kernel K -- CMD\n\n${USAGE}`);
  const command = argv.slice(dashes + 1);
  if (command.length === 0) throw new UsageError(`no command after --\n\n${USAGE}`);
  const { values } = parse(argv.slice(0, dashes), {
    kernel: { type: 'string' },
    timeout: { type: 'string' },
    memory: { type: 'string' },
    cpus: { type: 'string' },
    writable: { type: 'string', multiple: true },
    env: { type: 'string', multiple: true },
    cwd: { type: 'string' },
    accel: { type: 'string' },
    'no-headers': { type: 'boolean' },
    verbose: { type: 'boolean' },
  });
  const kernel = values.kernel;
  if (!kernel) throw new UsageError(`--kernel is required (one of ${KERNELS.map((k) => k.name).join(', ')})`);
  kernelSpec(kernel);
  if (values.accel !== undefined && values.accel !== 'kvm' && values.accel !== 'tcg') throw new UsageError(`--accel must be kvm or tcg, not "${values.accel}"`);
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env wants NAME=VALUE, not "${pair}"`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const timeoutS = positiveInt(values.timeout, '--timeout');

  // Ctrl-C or SIGTERM stops the VM; the CLI then exits as the signal would have made us
  const result = await interruptible((signal) =>
    runInVm({
      kernel,
      command,
      cwd: values.cwd,
      env,
      writable: values.writable,
      timeoutMs: timeoutS === undefined ? undefined : timeoutS * 1000,
      memoryMb: positiveInt(values.memory, '--memory'),
      cpus: positiveInt(values.cpus, '--cpus'),
      accel: values.accel as Accel | undefined,
      headers: !values['no-headers'],
      stdout: process.stdout,
      stderr: process.stderr,
      signal,
    }),
  );
  const summary = `${result.kernelRelease} (${result.accel}): boot ${(result.bootMs / 1000).toFixed(2)} s, total ${(result.totalMs / 1000).toFixed(2)} s`;
  if (result.timedOut) {
    process.stderr.write(`lab vm run: timed out after ${timeoutS} s; the VM was killed (${summary}; console log: ${result.consoleLog})\n`);
    return 124;
  }
  if (values.verbose) process.stderr.write(`lab vm run: ${summary}, exit code ${result.exitCode}, console log ${result.consoleLog}\n`);
  return result.exitCode;
}

const mb = (bytes: number | undefined) => (bytes === undefined ? '' : `${(bytes / 1e6).toFixed(1)} MB`);

/** Left-aligned columns, two spaces apart. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

export function kernelsTable(rows: KernelListing[]): string {
  const table = [['KERNEL', 'SUITE', 'ARCHIVE (linux-image-amd64)', 'CACHED', 'SIZE', 'HEADERS']];
  for (const r of rows) {
    table.push([
      r.name,
      r.suite,
      r.release ? `${r.release} (${r.debianVersion})` : `? ${r.archiveError ?? ''}`.trim(),
      r.cached ? `${r.cachedRelease} (${r.cachedDebianVersion})${r.release && r.release !== r.cachedRelease ? ' — older than the archive' : ''}` : 'no',
      mb(r.cachedBytes),
      r.headers ? `yes, ${mb(r.headersBytes)}` : r.cached ? 'no' : '',
    ]);
  }
  return formatTable(table);
}

async function kernelsCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { refresh: { type: 'boolean' }, offline: { type: 'boolean' }, json: { type: 'boolean' } });
  if (values.refresh && values.offline) throw new UsageError('--refresh and --offline contradict each other');
  const rows = await listKernels({ refresh: values.refresh, offline: values.offline });
  if (values.json) process.stdout.write(JSON.stringify(rows, null, 1) + '\n');
  else process.stdout.write(kernelsTable(rows) + `cache: ${cacheDir()}\n`);
  return 0;
}

async function fetchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { 'no-headers': { type: 'boolean' }, refresh: { type: 'boolean' } }, true);
  const names = positionals.length ? positionals : KERNELS.map((k) => k.name);
  names.forEach(kernelSpec);
  for (const name of names) {
    const started = Date.now();
    const k = await ensureKernel(name, { headers: !values['no-headers'], refresh: values.refresh });
    process.stdout.write(`${name}: ${k.release} (${k.debianVersion}), ${mb(k.bytes + (k.headers?.bytes ?? 0))} in ${k.dir} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  return 0;
}

async function accelCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { refresh: { type: 'boolean' } });
  const probe = await probeAccel({ refresh: values.refresh });
  process.stdout.write(`${probe.accel}: ${probe.reason}\n`);
  return 0;
}

async function stressCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { kernels: { type: 'string' }, modes: { type: 'string' }, guests: { type: 'string' }, cycles: { type: 'string' }, json: { type: 'string' } });
  const { runStress, STRESS_MODES, stressTable } = await import('./stress.js');
  const kernels = (values.kernels ?? '6.1,6.12,7.2').split(',').filter(Boolean);
  kernels.forEach(kernelSpec);
  const modes = (values.modes ?? 'multi,backports').split(',').filter(Boolean).map((m) => {
    const mode = STRESS_MODES[m];
    if (!mode) throw new UsageError(`--modes: no mode "${m}" (${Object.keys(STRESS_MODES).join(', ')})`);
    return mode;
  });
  const guests = positiveInt(values.guests, '--guests') ?? 4;
  const cycles = positiveInt(values.cycles, '--cycles') ?? 6;
  for (const k of kernels) await ensureKernel(k, { headers: false });
  const started = Date.now();
  const all = await interruptible((signal) =>
    runStress({
      kernels, modes, guests, cycles, signal,
      onGuest: (g) => process.stderr.write(`lab vm stress: ${g.kernel} ${g.mode}: ${g.outcome}${g.scriptMs !== undefined ? ` (${(g.scriptMs / 1000).toFixed(1)} s)` : ''}${g.detail ? `: ${g.detail}` : ''}${g.outcome !== 'ok' ? ` (console log: ${g.consoleLog})` : ''}\n`),
    }),
  );
  process.stdout.write(formatTable(stressTable(all)) + `${all.length} guests, ${cycles} cycles each, in ${((Date.now() - started) / 60_000).toFixed(1)} min\n`);
  if (values.json) await writeFile(values.json, JSON.stringify({ kernels, modes: modes.map((m) => m.name), cycles, guests: all }, null, 1) + '\n');
  return all.some((g) => g.outcome !== 'ok') ? 1 : 0;
}

async function vagrantBoxCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { rebuild: { type: 'boolean' }, output: { type: 'string' } });
  const { ensureBox } = await import('./vagrant-box.js');
  // ./lab runs us from the project root, where its package list is
  const box = await interruptible((signal) => ensureBox({ root: process.cwd(), rebuild: values.rebuild, signal }));
  let path = box.box;
  if (values.output) {
    await copyFile(box.box, values.output);
    path = values.output;
  }
  const { size } = await stat(path);
  process.stdout.write(`${path}: ${mb(size)}, ${box.built ? `built in ${(box.ms / 1000).toFixed(1)} s` : `cached (key ${box.key})`}\n`);
  return 0;
}

export async function vmCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'run':
      return runCommand(rest);
    case 'kernels':
      return kernelsCommand(rest);
    case 'fetch':
      return fetchCommand(rest);
    case 'accel':
      return accelCommand(rest);
    case 'stress':
      return stressCommand(rest);
    case 'vagrant-box':
      return vagrantBoxCommand(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return sub ? 0 : 2;
    default:
      throw new UsageError(`unknown subcommand "${sub}"\n\n${USAGE}`);
  }
}
