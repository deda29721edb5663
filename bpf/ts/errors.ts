// Errors of the bpf() layer read "verb noun: CAUSE (hint)": the operation, the errno name the kernel gave
// (or a short cause found before any syscall), and what to do about it —
// `load program "count_exec": EPERM (run as root or grant CAP_BPF+CAP_PERFMON)`.

import { constants, release } from 'node:os';

/** What the layer was doing; picks the verb of the message and the hints that fit it. */
export type Operation =
  | 'map_create'
  | 'map_lookup'
  | 'map_update'
  | 'map_delete'
  | 'map_next_key'
  | 'obj_info'
  | 'prog_load'
  | 'prog_test_run'
  | 'enable_stats'
  | 'perf_event_open'
  | 'perf_ioctl'
  | 'mmap'
  | 'mount'
  | 'tracepoint'
  | 'kprobe'
  | 'use';

const VERBS: Record<Operation, string> = {
  map_create: 'create map',
  map_lookup: 'look up element',
  map_update: 'update element',
  map_delete: 'delete element',
  map_next_key: 'get next key',
  obj_info: 'get info',
  prog_load: 'load program',
  prog_test_run: 'test-run program',
  enable_stats: 'enable run-time statistics',
  perf_event_open: 'open perf event',
  perf_ioctl: 'attach program',
  mmap: 'mmap',
  mount: 'mount tracefs',
  tracepoint: 'find tracepoint',
  kprobe: 'find kprobe support',
  use: 'use',
};

// The names the kernel documents, first: where two names share a number (EAGAIN/EWOULDBLOCK), this wins.
const PREFERRED = ['EAGAIN', 'EOPNOTSUPP', 'EDEADLK'];
// Kernel-internal numbers that leak out of bpf() (include/linux/errno.h) and that libc does not name.
const KERNEL_ONLY: Record<number, string> = { 524: 'ENOTSUPP' };

const NAMES = new Map<number, string>();
for (const name of PREFERRED) {
  const n = (constants.errno as Record<string, number>)[name];
  if (n !== undefined) NAMES.set(n, name);
}
for (const [name, n] of Object.entries(constants.errno as Record<string, number>)) {
  if (!NAMES.has(n)) NAMES.set(n, name);
}
for (const [n, name] of Object.entries(KERNEL_ONLY)) NAMES.set(Number(n), name);

export const errno = constants.errno as Record<string, number> & { ENOTSUPP?: number };

/** "ENOENT" for 2; "errno 1234" for a number nobody named. */
export function errnoName(n: number): string {
  return NAMES.get(n) ?? `errno ${n}`;
}

const PRIVILEGE = 'run as root or grant CAP_BPF+CAP_PERFMON';

// Kernels before 5.11 charge maps and programs to RLIMIT_MEMLOCK and say EPERM when it runs out.
function memlockAdvice(): string {
  const [major = 0, minor = 0] = release().split(/[.-]/).map(Number);
  return major < 5 || (major === 5 && minor < 11) ? '; this kernel also needs RLIMIT_MEMLOCK raised: ulimit -l unlimited' : '';
}

/** The hint for an errno, most specific first: this operation's own words, then the general ones. */
function hintFor(op: Operation, name: string, detail: string | undefined): string {
  const specific: Partial<Record<Operation, Partial<Record<string, string>>>> = {
    map_create: {
      EPERM: PRIVILEGE + memlockAdvice(),
      EINVAL: 'the kernel rejected an attribute: check map type, key/value sizes, max entries and flags',
      ENOMEM: 'not enough memory for the map: lower max entries' + memlockAdvice(),
    },
    map_lookup: {
      ENOENT: 'no such key',
      EOPNOTSUPP: 'this map type cannot be read from user space',
      ENOTSUPP: 'this map type cannot be read from user space',
    },
    map_update: {
      EEXIST: 'the key exists and BPF_NOEXIST was given; an array map has every key from the start',
      ENOENT: 'no such key and BPF_EXIST was given',
      E2BIG: 'the map is full, or an array index is not below max entries',
      EINVAL: 'the kernel rejected an attribute: check the flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST)',
    },
    map_delete: {
      ENOENT: 'no such key',
      EINVAL: 'elements of an array map cannot be deleted: write a zero value instead',
    },
    map_next_key: { ENOENT: 'no more keys' },
    prog_load: {
      EPERM: PRIVILEGE + memlockAdvice(),
      E2BIG: 'the program is too large, or the attribute has fields this kernel does not know',
      ENOSPC: 'the verifier log did not fit: give a larger logSize',
      EINVAL: 'the kernel rejected an attribute: check program type, license and expected attach type',
      EAGAIN: 'a signal interrupted the verifier on each of 5 tries (a profiler sampling with SIGPROF does); the program was not judged',
    },
    prog_test_run: {
      EINVAL: 'the kernel rejected an attribute: each program type takes its own inputs (socket filters: data of at least 14 bytes; raw tracepoints: ctx only, repeat 0)',
      ENOTSUPP: 'this program type cannot be test-run on this kernel',
      EOPNOTSUPP: 'this program type cannot be test-run on this kernel',
    },
    enable_stats: {
      EINVAL: 'this kernel has no BPF_ENABLE_STATS (5.8+)',
      EPERM: 'run as root: BPF_ENABLE_STATS needs CAP_SYS_ADMIN',
    },
    perf_event_open: {
      EACCES: `${PRIVILEGE}, or lower /proc/sys/kernel/perf_event_paranoid`,
      EPERM: PRIVILEGE,
      ENOENT: 'no such event: the tracepoint id or PMU type is wrong for this kernel',
      ENODEV: 'no such event source on this CPU or kernel',
      EINVAL: 'the kernel rejected an attribute: check type, config and size',
    },
    perf_ioctl: {
      EINVAL: 'the program type does not match the event: a tracepoint needs a tracepoint program',
      EEXIST: 'a program is already attached to this perf event',
      EPERM: PRIVILEGE,
    },
    mmap: {
      EINVAL: 'the size is not what the kernel expects: 1 + 2^n pages for perf, max entries for a ring buffer',
      EPERM: PRIVILEGE,
    },
    tracepoint: {
      ENOENT: 'no such tracepoint on this kernel: the list is in <tracefs>/available_events',
      EACCES: 'run as root: tracefs is readable by root only',
    },
    kprobe: {
      ENOENT: 'this kernel has no kprobe PMU at /sys/bus/event_source/devices/kprobe: it is built without CONFIG_KPROBES',
    },
    mount: {
      EPERM: 'run as root to mount tracefs, or mount it first: mount -t tracefs tracefs /sys/kernel/tracing',
      ENODEV: 'the kernel has no tracefs: CONFIG_TRACING is off',
    },
  };
  const general: Record<string, string> = {
    EPERM: PRIVILEGE,
    EACCES: PRIVILEGE,
    EBADF: 'bad file descriptor: the map or program was already closed',
    EFAULT: 'the kernel could not read an attribute pointer: a bug in this layer',
    E2BIG: 'the attribute has fields this kernel does not know, or a size is too large',
    EINVAL: 'the kernel rejected an attribute',
    ENOMEM: 'the kernel is out of memory for this object' + memlockAdvice(),
    ENOSPC: 'no space left in the map or buffer',
    EEXIST: 'it exists already',
    ENOENT: 'no such object',
    ENOSYS: 'this kernel has no bpf() system call: CONFIG_BPF_SYSCALL is off',
    EOPNOTSUPP: 'this kernel does not support the operation',
    ENOTSUPP: 'this kernel does not support the operation',
    EAGAIN: 'try again: the kernel was busy',
  };
  const base = specific[op]?.[name] ?? general[name] ?? 'see errno(3)';
  if (!detail) return base;
  return base.startsWith('the kernel rejected an attribute') ? `the kernel rejected an attribute: ${detail}` : `${base}; ${detail}`;
}

/** What the error is about, for the message: the map's or program's name, an event, extra words. */
export interface ErrorSubject {
  map?: string;
  program?: string;
  /** An event or buffer: "tracepoint syscalls/sys_enter_execve", "perf buffer of CPU 1". */
  target?: string;
  /** Extra words for the hint: what this caller knows about why. */
  detail?: string;
}

/** An error of the bpf() layer: `command: CODE (hint)`. */
export class BpfError extends Error {
  override name = 'BpfError';
  /** "load program", `update element in map "counts"`. */
  readonly command: string;
  /** The errno name ("EPERM"), or a short cause found before any syscall ("wrong key size"). */
  readonly code: string;
  /** The errno number, when the kernel (or libc) gave one. */
  readonly errno: number | undefined;
  /** What to do about it. */
  readonly hint: string;

  constructor(command: string, code: string, hint: string, errno?: number) {
    super(`${command}: ${code} (${hint})`);
    this.command = command;
    this.code = code;
    this.hint = hint;
    this.errno = errno;
  }

  /** The error for a failed syscall: `errnoValue` is positive (2 for ENOENT). */
  static fromErrno(op: Operation, errnoValue: number, where: ErrorSubject = {}): BpfError {
    const name = errnoName(errnoValue);
    return new BpfError(commandText(op, where), name, hintFor(op, name, where.detail), errnoValue);
  }

  /** An error found before calling the kernel (a key of the wrong size): same shape, no errno. */
  static usage(op: Operation, cause: string, hint: string, where: ErrorSubject = {}): BpfError {
    return new BpfError(commandText(op, where), cause, hint);
  }
}

function commandText(op: Operation, where: ErrorSubject): string {
  const verb = VERBS[op];
  const map = where.map !== undefined ? `map "${where.map}"` : undefined;
  const program = where.program !== undefined ? `"${where.program}"` : undefined;
  switch (op) {
    case 'map_lookup':
    case 'map_update':
    case 'map_delete':
    case 'map_next_key':
      return map ? `${verb} in ${map}` : verb;
    case 'map_create':
      return where.map !== undefined ? `${verb} "${where.map}"` : verb;
    case 'obj_info':
      return map ? `${verb} of ${map}` : program ? `${verb} of program ${program}` : verb;
    case 'prog_load':
    case 'prog_test_run':
      return program ? `${verb} ${program}` : verb;
    case 'perf_ioctl':
      return [verb, program, where.target && `to ${where.target}`].filter(Boolean).join(' ');
    case 'perf_event_open':
      return where.target ? `${verb} for ${where.target}` : verb;
    default:
      return where.target ? `${verb} ${where.target}` : verb;
  }
}

/**
 * The verifier said no. Keeps the whole log (`log`); the message shows its last lines, where the verifier
 * says what it did not like ("R0 !read_ok").
 */
export class VerifierError extends BpfError {
  override name = 'VerifierError';
  readonly log: string;
  /** The verifier's complaint: the last line of its log before the statistics. */
  readonly reason: string | undefined;

  constructor(program: string | undefined, errnoValue: number, log: string, lastLines = 6) {
    const lines = log.replace(/\0+$/, '').trimEnd().split('\n');
    const tail = lines.slice(-lastLines);
    const reason = verifierReason(lines);
    const hint = `the verifier rejected it${reason ? `: ${reason}` : ''}; ${
      lines.length > tail.length ? `last ${tail.length} of ${lines.length} log lines below, all in .log` : 'its log is below'
    }`;
    super(commandText('prog_load', { program }), errnoName(errnoValue), hint, errnoValue);
    this.message = `${this.message}\n${tail.map((l) => `  ${l}`).join('\n')}`;
    this.log = log;
    this.reason = reason;
  }
}

// The verifier ends its log with statistics; its complaint is the last line before them.
function verifierReason(lines: string[]): string | undefined {
  const stats = /^(processed \d+ insns|verification time|stack depth|mark_read|peak_states)/;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line && !stats.test(line)) return line;
  }
  return undefined;
}

/** Throw a BpfError when a syscall result is -errno; return it otherwise. */
export function check(op: Operation, ret: number, where?: ErrorSubject): number {
  if (ret < 0) throw BpfError.fromErrno(op, -ret, where);
  return ret;
}
