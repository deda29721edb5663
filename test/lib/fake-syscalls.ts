// A replacement for bpf/ts/syscall.ts in unit tests: it records every call (with a copy of the attribute
// as the layer encoded it) and answers with what the test says — so attribute encoding and error paths
// are tested without root. It is not a kernel: each test scripts only the answers it needs, and the same
// paths are proven on the real kernel in the *.kernel.test.ts files.

import { constants } from 'node:os';
import { overrideSyscalls, type Syscalls } from '../../bpf/ts/syscall.js';

export const E = constants.errno;

export interface BpfCall {
  cmd: number;
  /** A copy of the attribute at call time. */
  attr: Buffer;
  size: number;
}

export interface Fake {
  /** bpf() calls in order. */
  bpf: BpfCall[];
  /** Every call by name, in order, with its arguments. */
  log: { name: keyof Syscalls; args: unknown[] }[];
  /** The Buffer whose address the layer put in an attribute (from `address()` or `mmap()`). */
  at(addr: bigint): Buffer;
  /** Callbacks registered with watch(), by fd. */
  watchers: Map<number, () => void>;
  /** Memory handed out by the default mmap(), for the test to fill as the kernel would. */
  mappings: { addr: bigint; length: number; prot: number; fd: number; offset: number; mem: Buffer }[];
}

interface Teardown {
  teardown(fn: () => void): void;
}

/**
 * Install the fake for this test (restored at its teardown). `answers` overrides any call; unanswered
 * calls get harmless defaults: bpf() and perf_event_open() fail with ENOSYS, mmap allocates memory the
 * test can fill, close/ioctl/munmap succeed.
 */
export function fakeSyscalls(t: Teardown, answers: Partial<{ [K in keyof Syscalls]: (fake: Fake, ...args: Parameters<Syscalls[K]>) => ReturnType<Syscalls[K]> }> = {}): Fake {
  const memory = new Map<bigint, Buffer>();
  let next = 0x1000_0000n;
  const register = (buf: Buffer): bigint => {
    for (const [addr, b] of memory) if (b === buf) return addr;
    const addr = next;
    next += BigInt(Math.ceil((buf.length + 1) / 4096) * 4096);
    memory.set(addr, buf);
    return addr;
  };
  const fake: Fake = {
    bpf: [],
    log: [],
    watchers: new Map(),
    mappings: [],
    at(addr) {
      for (const [base, buf] of memory) {
        if (addr === base) return buf;
        if (addr > base && addr < base + BigInt(buf.length)) return buf.subarray(Number(addr - base));
      }
      throw new Error(`fake: no buffer at 0x${addr.toString(16)}`);
    },
  };
  const defaults: { [K in keyof Syscalls]: (fake: Fake, ...args: Parameters<Syscalls[K]>) => ReturnType<Syscalls[K]> } = {
    bpf: () => -E.ENOSYS,
    perfEventOpen: () => -E.ENOSYS,
    ioctl: () => 0,
    mmap: (f, length, prot, _flags, fd, offset) => {
      const mem = Buffer.alloc(length);
      const addr = register(mem);
      f.mappings.push({ addr, length, prot, fd, offset, mem });
      return addr;
    },
    munmap: () => 0,
    close: () => 0,
    mount: () => -E.EPERM,
    raiseMemlockLimit: () => 0,
    address: (_f, buf) => register(buf),
    view: (f, addr, length) => f.at(addr).subarray(0, length),
    watch: (f, fd, onReadable) => {
      f.watchers.set(fd, onReadable);
      return { close: () => f.watchers.delete(fd) };
    },
  };
  const replacement = {} as Syscalls;
  for (const name of Object.keys(defaults) as (keyof Syscalls)[]) {
    const impl = (answers[name] ?? defaults[name]) as (fake: Fake, ...args: unknown[]) => unknown;
    (replacement as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (name === 'bpf') fake.bpf.push({ cmd: args[0] as number, attr: Buffer.from(args[1] as Buffer), size: args[2] as number });
      fake.log.push({ name, args });
      return impl(fake, ...args);
    };
  }
  t.teardown(overrideSyscalls(replacement));
  return fake;
}
