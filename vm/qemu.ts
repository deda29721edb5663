// Run one command inside a QEMU guest booted on a Debian kernel, with the host's userland: the host's /
// is the guest's root (9p, read-only, a tmpfs overlay on top), so the same node, bpftrace and harness
// run inside. The command's stdout and stderr come back live on their own virtio-serial ports, its exit
// code on a third; the serial console carries only the kernel's log, kept on disk for failures.

import { execa, type ResultPromise } from 'execa';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { release as hostRelease, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { diesWithUs } from '../lib/process.js';
import { cacheDir } from './cache.js';
import { allowedSplats, consoleCrash, consoleReason, emulationSuspect, GuestCrash, splatAllowList, watchConsole, type AllowedSplat, type GuestCrashKind } from './console.js';
import { ensureBootFiles, type BootFiles } from './initramfs.js';
import { ensureKernel, KERNELS, readCachedKernel, type CachedKernel, type ProgressFn } from './kernels.js';
import { parseQemuVersion, tcgPlan, tcgRaceFixed, type QemuBuild } from './qemu-build.js';

export type Accel = 'kvm' | 'tcg';
export type TcgThread = 'multi' | 'single';

export interface VmRunOptions {
  /** '5.10' | '6.1' | '6.12' | '7.2' (or any name vm/kernels.ts's kernelSpec takes). */
  kernel: string;
  /** A kernel already at hand (vm/custom-kernel.ts, --kernel-image): booted instead of fetching `kernel`. */
  kernelFiles?: CachedKernel;
  /** argv run inside the guest; PATH is the host's. */
  command: string[];
  /** Same path inside the guest (the host's / is shared read-only); default process.cwd(). */
  cwd?: string;
  /** Added to the guest command's environment (PATH, HOME, LANG, TERM, TZ come from the host). */
  env?: Record<string, string>;
  /** Host directories the guest may write, mounted read-write at the same path. */
  writable?: string[];
  /**
   * The guest's root made of these host directories only, each read-only (writes land in memory) at its
   * guest path, instead of the host's whole /: what a guest running untrusted code may see (grading). The
   * run's own folder and the kernel's modules are added. Default: the host's / .
   */
  root?: RootPart[];
  /** Kills the VM; the result says timedOut. */
  timeoutMs?: number;
  /** The guest command's stdout, streamed live; when absent it is collected into the result. */
  stdout?: NodeJS.WritableStream;
  /** Its stderr, separately, streamed live; when absent it is collected into the result. */
  stderr?: NodeJS.WritableStream;
  /** Guest RAM; BCC's clang needs 1.5–2 GiB. Default 2048. */
  memoryMb?: number;
  /** Default 2. */
  cpus?: number;
  /** Abort → VM killed, and runInVm rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Fetch the kernel's headers too, so /lib/modules/<kv>/build resolves in the guest. Default true. */
  headers?: boolean;
  /** Default: $LAB_ACCEL, else KVM when probeAccel() says it works, else TCG. */
  accel?: Accel;
  /**
   * Default: qemu-system-x86_64 from PATH under KVM; under TCG, a QEMU without the multi-threaded TCG race
   * (vm/qemu-build.ts, tcgPlan). 'system': the one on PATH whatever it is (./lab vm stress compares them).
   */
  qemu?: QemuBuild | 'system';
  /** Under TCG, one host thread per vCPU ('multi') or one for all ('single'). Default: $LAB_TCG_THREAD, else tcgPlan's. */
  tcgThread?: TcgThread;
  /** Extra kernel command-line arguments (also from $LAB_VM_KERNEL_ARGS), for debugging a boot. */
  kernelArgs?: string[];
  /** Download and build progress (default: stderr). */
  onProgress?: ProgressFn;
  /**
   * TCP ports forwarded from 127.0.0.1 on the host into the guest (QEMU user-mode networking, restricted:
   * the guest reaches nothing else). Without any the guest has no network card at all.
   */
  forwards?: PortForward[];
  /**
   * Runs again after a soft lockup, RCU stall or int3 oops under TCG (GuestCrash, emulationSuspect), which
   * here have been QEMU's emulation rather than the command. Default 1; 0 where a lockup may be the command's own doing
   * (grading a student's program).
   */
  crashRetries?: number;
}

export interface RootPart {
  host: string;
  guest: string;
}

/** A path the kernel command line and the guest init's word splitting carry unchanged. */
const PLAIN_PATH = /^\/[A-Za-z0-9._@+/-]*$/;

/**
 * The parts of a constructed root as [mount tag, host path, guest path], parents first (a part nested in
 * another is mounted on top of it); a guest path given twice keeps the first.
 */
export function rootParts(parts: RootPart[]): [string, string, string][] {
  for (const p of parts) {
    if (!PLAIN_PATH.test(p.guest)) throw new UsageError(`run in vm: root part "${p.guest}" must be an absolute path of letters, digits and ._@+-/`);
  }
  const seen = new Set<string>();
  const unique = parts.filter((p) => !seen.has(p.guest) && seen.add(p.guest));
  return unique.sort((a, b) => a.guest.split('/').length - b.guest.split('/').length).map((p, i) => [`labpart${i}`, p.host, p.guest]);
}

export interface PortForward {
  /** Listened on at 127.0.0.1 only. */
  hostPort: number;
  guestPort: number;
}

export interface VmRunResult {
  /** The guest command's own exit code (124 when the VM was killed by the timeout). */
  exitCode: number;
  kernel: string;
  kernelRelease: string;
  accel: Accel;
  /** Under TCG: one host thread per vCPU or one for all. */
  tcgThread?: TcgThread;
  /** The QEMU that ran it when not the system's ("10.0.2 (bookworm-backports)"). */
  qemu?: string;
  /** QEMU start → guest command start. */
  bootMs: number;
  totalMs: number;
  timedOut: boolean;
  /** Path of the kept serial console log (the kernel's messages and the guest init's). */
  consoleLog: string;
  /** The command's output when no stream was given (else ''). */
  stdout: string;
  stderr: string;
  /** Runs before this one that ended on a crash of the emulator's kind and were run again (runInVm). */
  retries: EmulatorRetry[];
  /** Splats on the console that the allow list let pass, each with its reason. */
  allowedSplats: AllowedSplat[];
}

/** A run that died on a fault of the emulator's and was run once more. */
export interface EmulatorRetry {
  kind: GuestCrashKind;
  excerpt: string[];
  consoleLog: string;
}

const QEMU = 'qemu-system-x86_64';
const MSIZE = 262144;

/** Quote for POSIX sh: 'it'\''s'. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface GuestSetup {
  kernelRelease: string;
  /** A host directory of symlinks standing for /lib/modules/<kv> (see linkModulesDir). */
  modulesLinks: string;
  headers?: CachedKernel['headers'];
  /** [mount tag, host path] of each writable share. */
  writable: [string, string][];
  hostname: string;
  /** Bring up the user-mode NIC (eth0) at QEMU's default guest address. */
  network?: boolean;
}

/** QEMU user-mode networking's default guest address and prefix. */
export const GUEST_ADDRESS = '10.0.2.15/24';

/**
 * setup.sh: run by the guest init inside the chroot with the initramfs's busybox, before the command.
 * It mounts the writable shares, puts the kernel's cached modules (and its headers as build/source) at
 * /lib/modules/<kv>, and links the headers' trees where their Makefiles expect them (/usr/src/…).
 * Few commands on purpose: each one is a fork under TCG.
 */
export function setupScript(s: GuestSetup): string {
  const q = shellQuote;
  const mods = `/lib/modules/${s.kernelRelease}`;
  const lines = ['set -e', `echo ${q(s.hostname)} > /proc/sys/kernel/hostname`, 'ip link set lo up || true'];
  if (s.network) lines.push(`ip addr add ${GUEST_ADDRESS} dev eth0`, 'ip link set eth0 up');
  for (const [tag, path] of s.writable) {
    lines.push(`mount -t 9p -o trans=virtio,version=9p2000.L,msize=${MSIZE},cache=none ${q(tag)} ${q(path)}`);
  }
  // A bind mount over the directory, so a host that has this release's own modules does not mix in.
  lines.push(`mkdir -p ${q(mods)} /usr/src`, `mount -o bind ${q(s.modulesLinks)} ${q(mods)}`);
  for (const dir of ['/usr/src', '/usr/lib']) {
    const paths = (s.headers?.paths ?? []).filter((p) => p.guestPath === `${dir}/${p.guestPath.split('/').pop()}`);
    // One ln for all; an entry the host already has (the same Debian package installed) stays the host's.
    if (paths.length) lines.push(`ln -s ${paths.map((p) => q(p.hostPath)).join(' ')} ${dir}/ 2>/dev/null || true`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Fill `dir` with one symlink per entry of the kernel's modules directory, plus build and source
 * pointing at the cached headers: the guest bind-mounts it at /lib/modules/<kv>.
 */
export async function linkModulesDir(kernel: CachedKernel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(kernel.modulesDir)) {
    if (name !== 'build' && name !== 'source') await symlink(join(kernel.modulesDir, name), join(dir, name));
  }
  if (kernel.headers) {
    await symlink(kernel.headers.dir, join(dir, 'build'));
    if (kernel.headers.sourceDir) await symlink(kernel.headers.sourceDir, join(dir, 'source'));
  }
}

/** command.sh: the guest command with its environment and working directory; LAB_BOOT_MS comes from init. */
export function commandScript(c: { command: string[]; cwd: string; env: Record<string, string> }): string {
  const exports = Object.entries(c.env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new UsageError(`run in vm: "${k}" is not a valid environment variable name`);
    return `export ${k}=${shellQuote(v)}`;
  });
  return [...exports, `cd ${shellQuote(c.cwd)} || exit 125`, `exec ${c.command.map(shellQuote).join(' ')}`].join('\n') + '\n';
}

export interface QemuPlan {
  qemu?: QemuBuild;
  boot: BootFiles;
  accel: Accel;
  tcgThread?: TcgThread;
  memoryMb: number;
  cpus: number;
  runDir: string;
  consoleLog: string;
  sockets: { stdout: string; stderr: string; ctl: string };
  writable: [string, string][];
  /** A constructed root (rootParts); absent: the host's / . */
  root?: [string, string, string][];
  kernelArgs?: string[];
  forwards?: PortForward[];
}

/**
 * `-nic` for the forwards: user-mode networking with restrict=on, so the guest can reach neither the
 * host nor any network, and only the listed host ports (bound to 127.0.0.1) come in.
 */
export function nicArgs(forwards: PortForward[] | undefined): string[] {
  if (!forwards?.length) return ['-nic', 'none'];
  for (const f of forwards) {
    for (const port of [f.hostPort, f.guestPort]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`run in vm: port ${port} is not a TCP port (1-65535)`);
    }
  }
  const fwd = forwards.map((f) => `hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`);
  return ['-nic', ['user', 'model=virtio-net-pci', 'restrict=on', ...fwd].join(',')];
}

/**
 * The QEMU command line: the pc machine booting the PVH kernel directly. The microvm machine was 0.5 s
 * faster, but it has no HPET and no ACPI PM timer, and under TCG on a loaded host its TSC calibration
 * failed and the guest hung in 3 of 3 boots; pc fell back to the HPET and booted in 3 of 3.
 */
export function qemuArgs(p: QemuPlan): string[] {
  // QEMU option values end at a comma; a literal comma is written twice.
  const v = (value: string) => value.replace(/,/g, ',,');
  // cryptomgr.notests: the crypto self-tests took 0.7 s of a 3 s TCG boot; nothing here depends on them.
  const append = ['console=ttyS0', 'panic=-1', 'rdinit=/init', 'cryptomgr.notests', ...(p.kernelArgs ?? []), `labrun=${p.runDir}`];
  if (p.root) append.push(`labparts=${p.root.map(([, , guest]) => guest).join(':')}`);
  const args = [
    ...(p.qemu?.dataDirs ?? []).flatMap((d) => ['-L', d]),
    '-M', 'pc',
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot', ...nicArgs(p.forwards),
    ...(p.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', p.tcgThread ? `tcg,thread=${p.tcgThread}` : 'tcg', '-cpu', 'max']),
    '-m', String(p.memoryMb), '-smp', String(p.cpus),
    '-kernel', p.boot.kernel, '-initrd', p.boot.initramfs, '-append', append.join(' '),
    '-chardev', `file,id=labconsole,path=${v(p.consoleLog)}`, '-serial', 'chardev:labconsole',
  ];
  for (const [tag, path] of p.root?.map(([t, host]) => [t, host]) ?? [['labroot', '/']]) {
    args.push('-virtfs', `local,path=${v(path!)},mount_tag=${tag},security_model=none,readonly=on,multidevs=remap`);
  }
  for (const [tag, path] of p.writable) args.push('-virtfs', `local,path=${v(path)},mount_tag=${tag},security_model=none,multidevs=remap`);
  args.push('-device', 'virtio-serial-pci,max_ports=4');
  for (const [id, name] of [['labout', 'lab.stdout'], ['laberr', 'lab.stderr'], ['labctl', 'lab.ctl']] as const) {
    const path = id === 'labout' ? p.sockets.stdout : id === 'laberr' ? p.sockets.stderr : p.sockets.ctl;
    args.push('-chardev', `socket,id=${id},path=${v(path)}`, '-device', `virtserialport,chardev=${id},name=${name}`);
  }
  return args;
}

/** The host environment the guest command inherits: enough to find the same tools, nothing else. */
function baseEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TERM']) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  out.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return out;
}

/** One listening unix socket that QEMU connects to as a chardev client. */
class Port {
  readonly server: Server;
  readonly connected: Promise<Socket>;
  socket?: Socket;
  ended: Promise<void>;
  private endedResolve!: () => void;

  constructor(readonly path: string) {
    this.ended = new Promise((resolve) => (this.endedResolve = resolve));
    this.server = createServer();
    this.connected = new Promise((resolve) => {
      this.server.once('connection', (socket) => {
        this.socket = socket;
        socket.on('close', () => this.endedResolve());
        socket.on('error', () => this.endedResolve());
        resolve(socket);
      });
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, () => resolve());
    });
  }

  close(): void {
    this.socket?.destroy();
    this.server.close();
    this.endedResolve();
  }
}

/** Copy a port's bytes to `stream` (respecting back-pressure, which throttles the guest) or into `sink`. */
function pump(port: Port, stream: NodeJS.WritableStream | undefined, sink: Buffer[]): void {
  let broken = false;
  // A reader that went away (`./lab vm run … | head -1`: EPIPE) stops the copying, not the run.
  stream?.once('error', () => {
    broken = true;
    port.socket?.resume();
  });
  void port.connected.then((socket) => {
    socket.on('data', (chunk: Buffer) => {
      if (broken) return;
      if (!stream) {
        sink.push(chunk);
        return;
      }
      if (!stream.write(chunk)) {
        socket.pause();
        stream.once('drain', () => socket.resume());
      }
    });
  });
}

/** Remove the run directories of lab processes that no longer exist (killed before their cleanup ran). */
async function pruneRunDirs(): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const pid = Number(/^ebpf-lab-vm-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') await rm(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

async function pruneConsoleLogs(dir: string, keep: number): Promise<void> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.console.log')).sort();
  for (const name of names.slice(0, Math.max(0, names.length - keep))) await rm(join(dir, name), { force: true });
}

async function checkDir(path: string, what: string): Promise<string> {
  const real = await realpath(path).catch(() => undefined);
  if (!real || !(await stat(real)).isDirectory()) throw new UsageError(`run in vm: ${what} ${path} is not a directory`);
  return real;
}

/**
 * How a TCG guest runs: which QEMU, and one host thread per vCPU ('multi', QEMU's default) or one for all
 * ('single'). QEMU 7.2's (Debian 12's) multi-threaded TCG lets a vCPU run code translated before another
 * vCPU rewrote it, and a guest kernel patching its own text as tracers attach dies on the int3 or
 * livelocks; tcgPlan (vm/qemu-build.ts) picks a QEMU without that race, or one thread. $LAB_TCG_QEMU=system
 * keeps the system's QEMU (one thread if it has the race). `racy` says the run may still meet it (only when
 * asked for: ./lab vm stress, or LAB_TCG_QEMU=system with LAB_TCG_THREAD=multi).
 */
async function tcgSetup(opts: VmRunOptions): Promise<{ qemu?: QemuBuild; thread: TcgThread; racy: boolean }> {
  const env = process.env.LAB_TCG_THREAD;
  if (env !== undefined && env !== 'multi' && env !== 'single') throw new UsageError(`run in vm: LAB_TCG_THREAD=${env} (use multi or single)`);
  const asked = opts.tcgThread ?? (env as TcgThread | undefined);
  const system = await qemuVersion();
  if (opts.qemu === 'system' || (opts.qemu === undefined && process.env.LAB_TCG_QEMU === 'system')) {
    const v = parseQemuVersion(system);
    const fixed = Boolean(v && tcgRaceFixed(v));
    const thread = asked ?? (fixed ? 'multi' : 'single');
    return { thread, racy: thread === 'multi' && !fixed };
  }
  if (opts.qemu) return { qemu: opts.qemu, thread: asked ?? 'multi', racy: false };
  const plan = await tcgPlan(system, opts.onProgress);
  return { qemu: plan.qemu, thread: asked ?? plan.thread, racy: false };
}

/** The guest's kernel died before the command started: nothing of the command ran, so it can be retried. */
export class BootPanic extends EnvironmentError {
  override name = 'BootPanic';
}

/** Panics that every boot of the same kernel and initramfs would repeat: retrying them only wastes time. */
const DETERMINISTIC_PANIC = /Unable to mount root fs|No working init found|Attempted to kill init|Requested init .* failed/;

/** Boots tried before giving up on a kernel that panics while booting. */
const BOOT_ATTEMPTS = 3;

/**
 * Boots `opts.kernel`, runs the command, powers off. Under TCG a kernel now and then dies while it
 * patches its own code at boot (seen once here: 7.2, "Oops: int3" in sched_clock_cpu, during a test run);
 * such a boot is retried, saying so, because the command never started. A broken kernel while the command
 * runs ends the run at once (GuestCrash); a lockup or int3 oops under TCG (seen here: 6.1, both vCPUs stuck
 * for 22 minutes in syscall_trace_enter; 7.2, "Oops: int3" in trace_syscall_enter) is retried `crashRetries` times.
 */
export async function runInVm(opts: VmRunOptions): Promise<VmRunResult> {
  let crashRetries = opts.crashRetries ?? 1;
  const retries: EmulatorRetry[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return { ...(await runInVmOnce(opts)), retries };
    } catch (err) {
      if (err instanceof GuestCrash && emulationSuspect(err) && crashRetries-- > 0) {
        retries.push({ kind: err.kind, excerpt: err.excerpt, consoleLog: err.consoleLog });
        process.stderr.write(`lab vm: ${err.message}; this QEMU's multi-threaded TCG has a race that does this, not the command: running it again (retry ${retries.length})\n`);
        continue;
      }
      if (err instanceof GuestCrash) err.retries = retries;
      if (!(err instanceof BootPanic) || attempt >= BOOT_ATTEMPTS) throw err;
      process.stderr.write(`lab vm: ${err.message}; booting again (attempt ${attempt + 1} of ${BOOT_ATTEMPTS})\n`);
    }
  }
}

/** Boot `opts.kernel`, run `opts.command` inside, power off. Never leaves a QEMU process behind. */
async function runInVmOnce(opts: VmRunOptions): Promise<Omit<VmRunResult, 'retries'>> {
  if (opts.command.length === 0) throw new UsageError('run in vm: no command given');
  const memoryMb = opts.memoryMb ?? 2048;
  const cpus = opts.cpus ?? 2;
  if (!Number.isInteger(memoryMb) || memoryMb < 128) throw new UsageError(`run in vm: memory ${memoryMb} MB is not an integer ≥ 128`);
  if (!Number.isInteger(cpus) || cpus < 1) throw new UsageError(`run in vm: cpus ${cpus} is not a positive integer`);
  // with a constructed root, cwd is a path of the guest's
  const cwd = opts.root ? (opts.cwd ?? '/') : await checkDir(opts.cwd ?? process.cwd(), 'working directory');
  const writableDirs = await Promise.all((opts.writable ?? []).map((d) => checkDir(d, 'writable directory')));
  // Parents first, so a nested share is mounted on top of its parent's.
  const writable = [...new Set(writableDirs)].sort((a, b) => a.length - b.length).map((path, i): [string, string] => [`labw${i}`, path]);
  opts.signal?.throwIfAborted();
  await qemuVersion(); // a missing QEMU is an environment error before anything is downloaded

  const kernel = opts.kernelFiles ?? (await ensureKernel(opts.kernel, { headers: opts.headers ?? true, onProgress: opts.onProgress }));
  const boot = await ensureBootFiles(kernel);
  const envAccel = process.env.LAB_ACCEL;
  if (envAccel && envAccel !== 'kvm' && envAccel !== 'tcg') throw new UsageError(`run in vm: LAB_ACCEL=${envAccel} (use kvm or tcg)`);
  const accel: Accel = opts.accel ?? (envAccel as Accel | undefined) ?? (await probeAccel({ kernel: opts.kernelFiles ? undefined : kernel.name })).accel;
  const tcg = accel === 'tcg' ? await tcgSetup(opts) : undefined;
  const tcgThread = tcg?.thread;

  const runsDir = join(cacheDir(), 'runs');
  await mkdir(runsDir, { recursive: true });
  await pruneConsoleLogs(runsDir, 50);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  // Two VMs started in the same millisecond by one process (./lab grade --jobs 2) must not share a log:
  // each one's console watcher would see the other's crash.
  const consoleLog = join(runsDir, `${stamp}-${kernel.name}-${process.pid}-${randomBytes(3).toString('hex')}.console.log`);
  // Short path: unix socket paths are limited to 107 bytes. The pid in the name lets a later run
  // remove what a killed one left.
  await pruneRunDirs();
  const runDir = await mkdtemp(join(tmpdir(), `ebpf-lab-vm-${process.pid}-`));
  const ports = { stdout: new Port(join(runDir, 'out.sock')), stderr: new Port(join(runDir, 'err.sock')), ctl: new Port(join(runDir, 'ctl.sock')) };
  let child: ResultPromise | undefined;
  try {
    const modulesLinks = join(runDir, 'modules');
    await linkModulesDir(kernel, modulesLinks);
    await writeFile(join(runDir, 'setup.sh'), setupScript({ kernelRelease: kernel.release, modulesLinks, headers: kernel.headers, writable, hostname: `lab-${kernel.name.replace('.', '-')}`, network: Boolean(opts.forwards?.length) }));
    const env = { ...baseEnv(), ...opts.env, LAB_IN_VM: '1', LAB_TARGET_KIND: 'qemu', LAB_ACCEL: accel, LAB_KERNEL: kernel.name };
    await writeFile(join(runDir, 'command.sh'), commandScript({ command: opts.command, cwd, env }));
    await Promise.all(Object.values(ports).map((p) => p.listen()));

    const collected = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    pump(ports.stdout, opts.stdout, collected.stdout);
    pump(ports.stderr, opts.stderr, collected.stderr);

    const kernelArgs = [...(process.env.LAB_VM_KERNEL_ARGS?.split(/\s+/).filter(Boolean) ?? []), ...(opts.kernelArgs ?? [])];
    const root = opts.root
      ? rootParts([
          ...opts.root,
          { host: runDir, guest: runDir },
          // the modules and headers the run's setup.sh links to, in the kernel's cache unit
          { host: kernel.dir, guest: kernel.dir },
        ])
      : undefined;
    const args = qemuArgs({ qemu: tcg?.qemu, boot, accel, tcgThread, memoryMb, cpus, runDir, consoleLog, writable, root, kernelArgs, forwards: opts.forwards, sockets: { stdout: ports.stdout.path, stderr: ports.stderr.path, ctl: ports.ctl.path } });
    const started = Date.now();
    let bootMs = -1;
    let exitCode: number | undefined;
    let guestError: string | undefined;
    child = execa(...diesWithUs(tcg?.qemu?.binary ?? QEMU, args), {
      env: tcg?.qemu?.moduleDir ? { QEMU_MODULE_DIR: tcg.qemu.moduleDir } : {},
      reject: false,
      cleanup: true,
      detached: false,
      stdin: 'ignore',
      timeout: opts.timeoutMs,
      cancelSignal: opts.signal,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: 3000,
    });
    void ports.ctl.connected.then((socket) => {
      createInterface({ input: socket }).on('line', (line) => {
        if (line === 'ready') {
          bootMs = Date.now() - started;
          socket.write(`LAB_BOOT_MS=${bootMs}\n`);
        } else if (line.startsWith('exit ')) {
          exitCode = Number(line.slice(5));
        } else if (line.startsWith('error ')) {
          guestError = line.slice(6);
        }
      });
    });
    // A broken guest kernel (lockup, stall, oops) ends the run now, not at a timeout 25 minutes later; so does
    // a splat, which fails the run whatever the command does next.
    const allow = splatAllowList(kernel.name);
    let crash: ReturnType<typeof consoleCrash>;
    const stopWatching = watchConsole(
      consoleLog,
      (c) => {
        crash = c;
        child?.kill('SIGTERM');
      },
      1000,
      allow,
    );
    const r = await child.finally(stopWatching);
    const totalMs = Date.now() - started;
    // QEMU hands a port's bytes to its socket before the guest's write returns, and closes the sockets
    // as it exits: once they end, every byte the command wrote has arrived.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(Object.values(ports).map((p) => p.ended)), new Promise((resolve) => (grace = setTimeout(resolve, 2000)))]);
    clearTimeout(grace);
    if (r.isCanceled) throw opts.signal?.reason ?? new Error('run in vm: aborted');
    // A panic makes QEMU exit (panic=-1, -no-reboot), often before the watcher's next look: read it here.
    // A splat printed after the watcher's last look (a panic makes QEMU exit at once) is read here.
    const consoleText = await readFile(consoleLog, 'utf8').catch(() => '');
    if (!crash && !r.timedOut) crash = consoleCrash(consoleText, allow);
    const how = `${kernel.name} (${kernel.release}, ${accel === 'tcg' ? `tcg, ${tcgThread} thread${tcg?.qemu ? `, QEMU ${tcg.qemu.label}` : ''}` : accel})`;
    if (crash) {
      // Read again: QEMU has written the lines after the first one by now.
      const { kind, excerpt } = consoleCrash(consoleText, allow) ?? crash;
      const what = kind === 'warning' || kind === 'bug' ? 'printed a splat' : 'broke';
      const message = `run in vm ${how}: the guest's kernel ${what} (${kind}): ${excerpt.join(' / ')} (console log: ${consoleLog})`;
      if (bootMs < 0 && DETERMINISTIC_PANIC.test(excerpt.join('\n'))) throw new EnvironmentError(message);
      if (bootMs < 0 && kind !== 'hung task') throw new BootPanic(message);
      throw new GuestCrash(message, kind, excerpt, consoleLog, accel, tcg?.racy ?? false);
    }
    const allowed = allowedSplats(consoleText, allow);
    for (const a of allowed) process.stderr.write(`lab vm: the guest's kernel printed a splat the allow list lets pass (${a.reason}): ${a.line}\n`);
    const output = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
    const result: Omit<VmRunResult, 'retries'> = {
      exitCode: exitCode ?? 124,
      kernel: kernel.name,
      kernelRelease: kernel.release,
      accel,
      ...(tcgThread ? { tcgThread } : {}),
      ...(tcg?.qemu ? { qemu: tcg.qemu.label } : {}),
      bootMs,
      totalMs,
      timedOut: Boolean(r.timedOut) && exitCode === undefined,
      consoleLog,
      stdout: output(collected.stdout),
      stderr: output(collected.stderr),
      allowedSplats: allowed,
    };
    if (exitCode === undefined && !result.timedOut) {
      const qemuError = String(r.stderr ?? '').split('\n').filter((l) => l.trim() && !/terminating on signal/.test(l)).slice(0, 2).join(' / ');
      const reason = guestError || qemuError || consoleReason(consoleText) || `QEMU exited with ${r.exitCode ?? r.signal} before the command finished`;
      const message = `run in vm ${how}: ${reason} (console log: ${consoleLog})`;
      if (bootMs < 0 && /Kernel panic|Oops/.test(reason) && !DETERMINISTIC_PANIC.test(reason)) throw new BootPanic(message);
      if (bootMs < 0) throw new EnvironmentError(message);
      // the command had started: what stopped the guest may be the command's doing
      throw new GuestCrash(message, 'stopped', [reason], consoleLog, accel, tcg?.racy ?? false);
    }
    return result;
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const p of Object.values(ports)) p.close();
    await rm(runDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Accelerator

export interface AccelProbe {
  accel: Accel;
  reason: string;
}

let qemuVersionCache: Promise<string> | undefined;

/** `qemu-system-x86_64 --version`'s first line; an EnvironmentError when QEMU is missing. */
export function qemuVersion(): Promise<string> {
  qemuVersionCache ??= execa(QEMU, ['--version'], { reject: false, timeout: 10_000 }).then((r) => {
    if (r.exitCode !== 0) throw new EnvironmentError(`run ${QEMU}: ${r.code === 'ENOENT' ? 'not installed' : r.shortMessage} (apt-get install qemu-system-x86)`);
    return String(r.stdout).split('\n')[0];
  });
  return qemuVersionCache;
}

/**
 * KVM when it actually works, else TCG. /dev/kvm existing proves little (here it exists, and a guest
 * aborts on an MSR with -cpu host and hangs with -cpu qemu64), so the probe boots a real guest that
 * runs `true` under KVM with a short timeout. The answer is cached per host kernel and QEMU version.
 */
export async function probeAccel(opts: { kernel?: string; refresh?: boolean; timeoutMs?: number } = {}): Promise<AccelProbe> {
  const key = `${hostRelease()} | ${await qemuVersion()} | uid ${process.getuid?.() ?? '?'}`;
  const file = join(cacheDir(), 'accel.json');
  const cached = await readFile(file, 'utf8').then((t) => JSON.parse(t) as AccelProbe & { key: string }, () => undefined);
  if (cached && cached.key === key && !opts.refresh) return { accel: cached.accel, reason: cached.reason };

  const remember = async (probe: AccelProbe): Promise<AccelProbe> => {
    await mkdir(cacheDir(), { recursive: true });
    await writeFile(file, JSON.stringify({ key, ...probe, probedAt: new Date().toISOString() }, null, 1) + '\n');
    return probe;
  };
  if (!existsSync('/dev/kvm')) return remember({ accel: 'tcg', reason: 'no /dev/kvm (no KVM here: enable virtualisation, or load kvm_intel/kvm_amd)' });
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
  } catch (err) {
    return remember({ accel: 'tcg', reason: `/dev/kvm: ${(err as NodeJS.ErrnoException).code} (add this user to the kvm group)` });
  }
  let name = opts.kernel;
  for (const k of KERNELS) if (!name && (await readCachedKernel(k.name))) name = k.name;
  if (!name) return { accel: 'tcg', reason: 'no cached kernel to test KVM with yet (not remembered)' };
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const started = Date.now();
  try {
    const r = await runInVm({ kernel: name, command: ['true'], accel: 'kvm', headers: false, timeoutMs, memoryMb: 256, cpus: 1 });
    if (r.timedOut) return remember({ accel: 'tcg', reason: `a KVM guest (${r.kernelRelease}) did not finish booting within ${timeoutMs / 1000} s` });
    if (r.exitCode !== 0) return remember({ accel: 'tcg', reason: `a KVM guest (${r.kernelRelease}) ran \`true\` with exit code ${r.exitCode}` });
    return remember({ accel: 'kvm', reason: `a KVM guest (${r.kernelRelease}) booted and ran a command in ${Date.now() - started} ms` });
  } catch (err) {
    if (!(err instanceof EnvironmentError)) throw err;
    // The first line QEMU printed says it best ("failed to set MSR 0x10a"); the log path would go stale.
    const why = err.message.replace(/^run in vm [^:]*: /, '').replace(/ \(console log: [^)]*\)$/, '').split(' / ')[0];
    return remember({ accel: 'tcg', reason: `a KVM guest failed: ${why}` });
  }
}
