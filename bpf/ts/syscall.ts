// Every system call the bpf() layer makes goes through ONE replaceable object (aya's `override_syscall`):
// the real implementation calls libc through koffi; unit tests swap in a fake to check attribute encoding
// and error paths without root or a kernel. Each call returns what the kernel returns — a result ≥ 0, or a
// negative errno — so the layer never reads a global errno itself and a fake can fail any call on purpose.

import { createRequire } from 'node:module';

// koffi (a native module) loads on the first syscall, not on import: the CLI imports this layer for its
// feature checks and often makes no syscall at all, and loading koffi costs 20–50 ms of every start.
type Koffi = typeof import('koffi');
let koffiModule: Koffi | undefined;
const loadKoffi = (): Koffi => (koffiModule ??= createRequire(import.meta.url)('koffi') as Koffi);

export interface Watch {
  close(): void;
}

export interface Syscalls {
  /** bpf(cmd, attr, size) → fd / 0, or -errno. */
  bpf(cmd: number, attr: Buffer, size: number): number;
  /** perf_event_open(attr, pid, cpu, group_fd, flags) → fd, or -errno. */
  perfEventOpen(attr: Buffer, pid: number, cpu: number, groupFd: number, flags: number): number;
  /** ioctl(fd, request, arg) with an integer argument → result, or -errno. */
  ioctl(fd: number, request: number, arg: number): number;
  /** mmap(NULL, length, prot, flags, fd, offset) → address, or -errno as a negative bigint. */
  mmap(length: number, prot: number, flags: number, fd: number, offset: number): bigint;
  munmap(addr: bigint, length: number): number;
  close(fd: number): number;
  /** mount(source, target, fstype, 0, NULL) → 0, or -errno. */
  mount(source: string, target: string, fstype: string): number;
  /** setrlimit(RLIMIT_MEMLOCK, infinity) → 0, or -errno (kernels before 5.11 charge BPF memory to it). */
  raiseMemlockLimit(): number;
  /** The address of a Buffer's bytes, to put in an attribute that points at it (key, value, insns, log). */
  address(buf: Buffer): bigint;
  /** A Buffer over memory at an address (an mmap'ed ring), without copying. */
  view(addr: bigint, length: number): Buffer;
  /** Call onReadable whenever fd is readable (epoll through libuv), until the watch is closed. */
  watch(fd: number, onReadable: () => void): Watch;
}

export const SYS_bpf = 321; // x86_64
export const SYS_perf_event_open = 298;
/** x86_64's page size: the unit of every perf and ring buffer mapping. */
export const PAGE_SIZE = 4096;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;

const RLIMIT_MEMLOCK = 8;
const RLIM_INFINITY = 0xffffffffffffffffn;

function loadLibc(): Syscalls {
  if (process.arch !== 'x64') {
    // The syscall numbers above are x86_64's; other architectures would need their own table.
    throw new Error(`open libc: unsupported architecture ${process.arch} (the bpf() layer knows x86_64 syscall numbers only)`);
  }
  const koffi = loadKoffi();
  const libc = koffi.load('libc.so.6');
  // syscall(2) is variadic; on x86_64 integer and pointer arguments travel in the same registers either
  // way, so one fixed prototype per use is enough (and is what koffi calls fastest).
  const bpf = libc.func('long syscall(long nr, int cmd, void *attr, unsigned int size)');
  const perfEventOpen = libc.func('long syscall(long nr, void *attr, int pid, int cpu, int group_fd, unsigned long flags)');
  const ioctl = libc.func('int ioctl(int fd, unsigned long request, unsigned long arg)');
  const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)');
  const munmap = libc.func('int munmap(void *addr, size_t length)');
  const close = libc.func('int close(int fd)');
  const mount = libc.func(
    'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)',
  );
  const setrlimit = libc.func('int setrlimit(int resource, const void *rlim)');

  // libc returns -1 and sets errno; turn that into the kernel's own -errno convention.
  const checked = (ret: number | bigint): number => {
    const n = Number(ret);
    return n === -1 ? -koffi.errno() : n;
  };

  return {
    bpf: (cmd, attr, size) => checked(bpf(SYS_bpf, cmd, attr, size)),
    perfEventOpen: (attr, pid, cpu, groupFd, flags) =>
      checked(perfEventOpen(SYS_perf_event_open, attr, pid, cpu, groupFd, flags)),
    ioctl: (fd, request, arg) => checked(ioctl(fd, request, arg)),
    mmap: (length, prot, flags, fd, offset) => {
      const addr = mmap(null, length, prot, flags, fd, offset);
      const value = addr === null ? 0n : koffi.address(addr);
      // MAP_FAILED is (void *)-1.
      return value === 0xffffffffffffffffn || value === 0n ? -BigInt(koffi.errno()) : value;
    },
    munmap: (addr, length) => checked(munmap(addr, length)),
    close: (fd) => checked(close(fd)),
    mount: (source, target, fstype) => checked(mount(source, target, fstype, 0, null)),
    raiseMemlockLimit: () => {
      const rlim = Buffer.alloc(16);
      rlim.writeBigUInt64LE(RLIM_INFINITY, 0);
      rlim.writeBigUInt64LE(RLIM_INFINITY, 8);
      return checked(setrlimit(RLIMIT_MEMLOCK, rlim));
    },
    address: (buf) => koffi.address(buf),
    view: (addr, length) => Buffer.from(koffi.view(addr, length)),
    watch: (fd, onReadable) => {
      // koffi's libuv poll handle: the fd joins Node's own epoll set, so no timer spins while idle.
      // koffi 3.3 calls back with (status, events), not the (events) its typings declare; only readability
      // was asked for, so any call means "drain now" (draining an empty ring is harmless).
      const handle = koffi.node.poll(fd, { readable: true }, (() => onReadable()) as () => void);
      return { close: () => handle.close() };
    },
  };
}

let real: Syscalls | undefined;
let current: Syscalls | undefined;

/** The syscall implementation in use: libc by default (loaded on first use), or a test's replacement. */
export function sys(): Syscalls {
  if (current) return current;
  real ??= loadLibc();
  return real;
}

/**
 * Replace some or all syscalls (for tests). Calls not given fall through to the real ones, so a test can
 * fail one call on purpose and let the rest reach the kernel. Returns the function that restores the
 * previous implementation.
 */
export function overrideSyscalls(replacement: Partial<Syscalls>): () => void {
  const previous = current;
  const base = previous ?? lazyReal();
  current = { ...base, ...replacement };
  return () => {
    current = previous;
  };
}

// A Syscalls whose every call loads libc on first use, so a fully faked test never touches koffi.
function lazyReal(): Syscalls {
  const forward =
    <K extends keyof Syscalls>(name: K) =>
    (...args: Parameters<Syscalls[K]>) => {
      real ??= loadLibc();
      return (real[name] as (...a: Parameters<Syscalls[K]>) => ReturnType<Syscalls[K]>)(...args);
    };
  return {
    bpf: forward('bpf'),
    perfEventOpen: forward('perfEventOpen'),
    ioctl: forward('ioctl'),
    mmap: forward('mmap'),
    munmap: forward('munmap'),
    close: forward('close'),
    mount: forward('mount'),
    raiseMemlockLimit: forward('raiseMemlockLimit'),
    address: forward('address'),
    view: forward('view'),
    watch: forward('watch'),
  };
}
