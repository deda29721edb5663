// What this kernel and this process can do, as named, cached probes (cilium's internal/feature.go):
// each answers supported, unsupported (with the reason and the fix) or inconclusive (it could not tell,
// and why). Probes that depend on a kernel version carry the version that introduced the feature, so a
// test can skip on an older kernel and FAIL on a newer one that still says no (see test/lib/kernel.ts).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { MapCreateAttr, MapType, Cmd, encodeAttr } from './attr.js';
import { VMLINUX_BTF_PATH } from './btf.js';
import { errnoName, errno } from './errors.js';
import { sys } from './syscall.js';
import { tracefsRoot } from './tracepoint.js';
import { asm, assemble, R1, R2, R3, R10 } from './insn.js';
import { loadProgram } from './prog.js';

export type FeatureResult =
  | { status: 'supported'; detail?: string }
  | { status: 'unsupported'; reason: string }
  | { status: 'inconclusive'; reason: string };

export interface Feature {
  name: FeatureName;
  /** What it is, in a few words: "BPF ring buffer". */
  title: string;
  /** The kernel version that introduced it, when a version decides it (not a build option). */
  minKernel?: [number, number];
  probe(): FeatureResult;
}

export interface KernelInfo {
  /** uname -r: "6.1.0-56-amd64". */
  release: string;
  /** [major, minor, patch] from the release: [6, 1, 0]. */
  version: [number, number, number];
  /** Debian's own version of the kernel package, from /proc/version: "6.1.158-1"; undefined elsewhere. */
  debian: string | undefined;
}

/** Parse a release and /proc/version into KernelInfo. */
export function parseKernel(rel: string, procVersion: string): KernelInfo {
  const [major = 0, minor = 0, patch = 0] = rel.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  // "... #1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-10-21)": the build line after '#', not the
  // compiler's "(Debian 12.2.0-14)" earlier in the line.
  const build = procVersion.slice(procVersion.lastIndexOf('#'));
  const debian = /\bDebian (\d[^\s]*)/.exec(build)?.[1];
  return { release: rel, version: [major, minor, patch], debian };
}

let kernel: KernelInfo | undefined;

export function kernelInfo(): KernelInfo {
  kernel ??= parseKernel(release(), readFileSync('/proc/version', 'utf8'));
  return kernel;
}

/** Whether the running kernel is at least major.minor. */
export function kernelAtLeast(major: number, minor: number, info: KernelInfo = kernelInfo()): boolean {
  const [a, b] = info.version;
  return a > major || (a === major && b >= minor);
}

const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/** The effective capabilities from a /proc/<pid>/status text. */
export function effectiveCaps(status: string): bigint {
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

/** Whether BPF tracing is allowed with these capabilities: CAP_BPF+CAP_PERFMON, or CAP_SYS_ADMIN. */
export function privilegeResult(caps: bigint): FeatureResult {
  const has = (cap: number) => (caps >> BigInt(cap)) & 1n;
  if (has(CAP_BPF) && has(CAP_PERFMON)) return { status: 'supported', detail: 'CAP_BPF and CAP_PERFMON' };
  if (has(CAP_SYS_ADMIN)) return { status: 'supported', detail: 'CAP_SYS_ADMIN' };
  const missing = [!has(CAP_BPF) && 'CAP_BPF', !has(CAP_PERFMON) && 'CAP_PERFMON'].filter(Boolean).join('+');
  return { status: 'unsupported', reason: `not root: no ${missing} (or CAP_SYS_ADMIN) — run as root or grant CAP_BPF+CAP_PERFMON` };
}

// Create a map of this type and close it: the cheapest question the kernel answers truthfully.
function probeMapType(type: keyof typeof MapType, keySize: number, valueSize: number, maxEntries: number, title: string): FeatureResult {
  const attr = encodeAttr(MapCreateAttr, { map_type: MapType[type], key_size: keySize, value_size: valueSize, max_entries: maxEntries });
  const fd = sys().bpf(Cmd.map_create, attr, attr.length);
  if (fd >= 0) {
    sys().close(fd);
    return { status: 'supported' };
  }
  const name = errnoName(-fd);
  // EINVAL: an unknown map type; E2BIG: an attribute field the kernel does not know (it predates them).
  if (fd === -errno.EINVAL || fd === -errno.E2BIG) return { status: 'unsupported', reason: `the kernel does not know ${title} (map create: ${name})` };
  if (fd === -errno.EPERM || fd === -errno.EACCES) {
    return { status: 'inconclusive', reason: `not permitted to create maps (${name}): run as root or grant CAP_BPF+CAP_PERFMON` };
  }
  if (fd === -errno.ENOSYS) return { status: 'unsupported', reason: 'no bpf() system call (CONFIG_BPF_SYSCALL is off)' };
  return { status: 'inconclusive', reason: `map create for ${title} failed with ${name}` };
}

/** Where BCC finds kernel headers: the modules' build tree, or the kernel's own archive (CONFIG_IKHEADERS). */
export function kernelHeadersResult(rel: string, root = '/'): FeatureResult {
  const build = join(root, 'lib/modules', rel, 'build');
  if (existsSync(join(build, 'include')) || existsSync(join(build, 'Makefile'))) return { status: 'supported', detail: build };
  const kheaders = join(root, 'sys/kernel/kheaders.tar.xz');
  if (existsSync(kheaders)) return { status: 'supported', detail: kheaders };
  // BCC loads the kheaders module itself when it exists (modprobe kheaders).
  for (const dir of ['lib/modules', 'usr/lib/modules']) {
    const ko = ['kheaders.ko', 'kheaders.ko.xz', 'kheaders.ko.zst'].map((f) => join(root, dir, rel, 'kernel/kernel', f));
    const found = ko.find((f) => existsSync(f));
    if (found) return { status: 'supported', detail: `${found} (BCC loads it)` };
  }
  return {
    status: 'unsupported',
    reason: `bcc: no kernel headers for ${rel} — install linux-headers-${rel} or boot a kernel with CONFIG_IKHEADERS`,
  };
}

function tracefsProbe(): FeatureResult {
  try {
    return { status: 'supported', detail: tracefsRoot() };
  } catch (err) {
    // Not mounted and not allowed to mount it: whether the kernel has tracefs is still unknown.
    const code = (err as { code?: string }).code;
    const reason = (err as Error).message;
    return code === 'EPERM' || code === 'EACCES' ? { status: 'inconclusive', reason } : { status: 'unsupported', reason };
  }
}

function kprobeProbe(): FeatureResult {
  const dir = '/sys/bus/event_source/devices/kprobe';
  if (existsSync(join(dir, 'type'))) return { status: 'supported', detail: dir };
  return {
    status: 'unsupported',
    reason: 'no kprobes: the kernel has no kprobe PMU (/sys/bus/event_source/devices/kprobe), it is built without CONFIG_KPROBES',
  };
}

function btfProbe(): FeatureResult {
  const path = VMLINUX_BTF_PATH;
  try {
    return { status: 'supported', detail: `${path} (${statSync(path).size} bytes)` };
  } catch {
    return { status: 'unsupported', reason: `no BTF: ${path} is missing — the kernel is built without CONFIG_DEBUG_INFO_BTF` };
  }
}

/**
 * What bpf_probe_read_user_str returns for an empty string: 1 (its NUL, as documented) or 0 (what
 * 5.10–6.12 return). Tools that advance through a packed buffer by that return value lose empty
 * arguments where it is 0. A raw tracepoint program run with BPF_PROG_TEST_RUN (5.10+) reads an empty
 * string from this very process, whose address it gets as its first argument.
 */
function emptyStringProbe(): FeatureResult {
  const empty = Buffer.from([0]);
  const ctx = Buffer.alloc(8);
  ctx.writeBigUInt64LE(sys().address(empty));
  const insns = assemble([
    asm.ldx('dw', R3, R1, 0).comment('r3 = ctx->args[0]: the address of an empty string'),
    asm.mov(R1, R10),
    asm.add(R1, -8),
    asm.mov(R2, 8),
    asm.call('probe_read_user_str'),
    asm.exit().comment('r0 = what the helper returned'),
  ]);
  let prog;
  try {
    prog = loadProgram({ name: 'probe_str_nul', type: 'raw_tracepoint', insns });
    const { retval } = prog.testRun({ data: Buffer.alloc(0), ctx, repeat: 0 }); // raw_tp runs once and refuses repeat
    void empty; // keep the string alive until the program has run
    if (retval === 1) return { status: 'supported', detail: 'an empty string reads as 1 byte (its NUL)' };
    if (retval === 0) return { status: 'unsupported', reason: 'bpf_probe_read_user_str returns 0 for an empty string on this kernel, not 1 (its NUL) as documented' };
    return { status: 'inconclusive', reason: `bpf_probe_read_user_str returned ${retval | 0} for an empty string` };
  } catch (err) {
    return { status: 'inconclusive', reason: `could not run the probe: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    prog?.close();
  }
}

/** The JIT: 1 or 2 compiles programs to machine code; 0 runs them in the interpreter (slower, and not on every kernel). */
export function jitResult(text: string | undefined): FeatureResult {
  if (text === undefined) return { status: 'unsupported', reason: 'no BPF JIT: /proc/sys/net/core/bpf_jit_enable is missing (a kernel built without CONFIG_BPF_JIT)' };
  const v = text.trim();
  if (v === '1' || v === '2') return { status: 'supported', detail: `bpf_jit_enable = ${v}` };
  return { status: 'unsupported', reason: 'the JIT is off (bpf_jit_enable = 0), programs run in the interpreter: sysctl net.core.bpf_jit_enable=1' };
}

/**
 * Whether a user without privileges may call bpf(): kernel.unprivileged_bpf_disabled 0 allows it (for socket
 * filters only); 2 (Debian's default) forbids it but root may set it back to 0; 1 forbids it until reboot.
 */
export function unprivilegedResult(text: string | undefined): FeatureResult {
  if (text === undefined) return { status: 'unsupported', reason: 'no /proc/sys/kernel/unprivileged_bpf_disabled (a kernel older than 4.4): only root may call bpf()' };
  const v = text.trim();
  if (v === '0') return { status: 'supported', detail: 'unprivileged_bpf_disabled = 0: any user may load socket filters' };
  if (v === '2') return { status: 'unsupported', reason: 'unprivileged_bpf_disabled = 2: only privileged users may call bpf() (root can allow others: sysctl kernel.unprivileged_bpf_disabled=0); run the notebooks as root' };
  return { status: 'unsupported', reason: `unprivileged_bpf_disabled = ${v}: only privileged users may call bpf(), until reboot; run the notebooks as root` };
}

const readOptional = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

function execveTracepointProbe(): FeatureResult {
  let root: string;
  try {
    root = tracefsRoot();
  } catch (err) {
    return { status: 'inconclusive', reason: `no tracefs to look in: ${(err as Error).message}` };
  }
  const dir = join(root, 'events/syscalls/sys_enter_execve');
  if (existsSync(join(dir, 'id'))) return { status: 'supported', detail: dir };
  return { status: 'unsupported', reason: `no ${dir}: the kernel is built without CONFIG_FTRACE_SYSCALLS (syscall tracepoints)` };
}

export const FEATURES = {
  bpf: { title: 'the bpf() system call', minKernel: [3, 19], probe: () => probeMapType('array', 4, 4, 1, 'array maps') },
  btf: { title: 'kernel BTF (CO-RE)', probe: btfProbe },
  tracefs: { title: 'tracefs', probe: tracefsProbe },
  kprobes: { title: 'kprobes', probe: kprobeProbe },
  execve_tracepoint: { title: 'the execve syscall tracepoints', probe: execveTracepointProbe },
  jit: { title: 'the BPF JIT', probe: () => jitResult(readOptional('/proc/sys/net/core/bpf_jit_enable')) },
  unprivileged_bpf: {
    title: 'bpf() for unprivileged users',
    probe: () => unprivilegedResult(readOptional('/proc/sys/kernel/unprivileged_bpf_disabled')),
  },
  ringbuf: { title: 'BPF ring buffer', minKernel: [5, 8], probe: () => probeMapType('ringbuf', 0, 0, 4096, 'ring buffers') },
  perf_event_array: {
    title: 'perf event array',
    minKernel: [4, 3],
    probe: () => probeMapType('perf_event_array', 4, 4, 1, 'perf event arrays'),
  },
  root: { title: 'BPF privileges', probe: () => privilegeResult(effectiveCaps(readFileSync('/proc/self/status', 'utf8'))) },
  kernel_headers: { title: 'kernel headers for BCC', probe: () => kernelHeadersResult(kernelInfo().release) },
  str_counts_nul: { title: 'bpf_probe_read_user_str counting the NUL of an empty string', probe: emptyStringProbe },
} satisfies Record<string, Omit<Feature, 'name' | 'minKernel'> & { minKernel?: [number, number] }>;

export type FeatureName = keyof typeof FEATURES;

export const FEATURE_NAMES = Object.keys(FEATURES) as FeatureName[];

const cache = new Map<FeatureName, FeatureResult>();

/** The feature's answer, probed once per process. */
export function probeFeature(name: FeatureName): FeatureResult {
  let result = cache.get(name);
  if (!result) {
    try {
      result = FEATURES[name].probe();
    } catch (err) {
      result = { status: 'inconclusive', reason: `probe failed: ${(err as Error).message}` };
    }
    cache.set(name, result);
  }
  return result;
}

export function feature(name: FeatureName): Feature {
  const f = FEATURES[name] as Omit<Feature, 'name'>;
  return { name, ...f };
}

/** Forget cached answers (after mounting tracefs, in tests). */
export function clearFeatureCache(): void {
  cache.clear();
}

/** What a test should do about a feature: run, skip with a sentence, or fail with one. */
export type Gate = { action: 'run' } | { action: 'skip'; reason: string } | { action: 'fail'; reason: string };

/**
 * cilium's checkVersion: a feature that is missing on a kernel older than the one that introduced it is a
 * skip ("requires kernel ≥ 5.8: no ring buffer"); missing on a kernel new enough, it is a failure — the
 * probe, the layer or the kernel's build is wrong, and a skip would hide it. A probe that could not tell
 * is a skip without privileges (it needed them) and a failure with them.
 */
export function gateFeature(
  name: FeatureName,
  result: FeatureResult = probeFeature(name),
  kernel: KernelInfo = kernelInfo(),
  privileged: boolean = probeFeature('root').status === 'supported',
): Gate {
  const f = feature(name);
  if (result.status === 'supported') return { action: 'run' };
  if (result.status === 'inconclusive') {
    return privileged
      ? { action: 'fail', reason: `${f.title}: the probe could not tell, although the process is privileged: ${result.reason}` }
      : { action: 'skip', reason: `${f.title}: ${result.reason}` };
  }
  if (f.minKernel) {
    const [major, minor] = f.minKernel;
    if (!kernelAtLeast(major, minor, kernel)) {
      return { action: 'skip', reason: `requires kernel ≥ ${major}.${minor}: no ${f.title} on ${kernel.release}` };
    }
    return { action: 'fail', reason: `kernel ${kernel.release} is ≥ ${major}.${minor} but has no ${f.title}: ${result.reason}` };
  }
  return { action: 'skip', reason: result.reason };
}
