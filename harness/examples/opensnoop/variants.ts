// opensnoop's variants, as data: how to start each, how to know it is attached, which reader reads its output,
// and how it is expected to differ from the truth — each expectation that is not the ideal with the sentence
// that says why. Read from the sources, and checked by running each against the open workload.

import { PATH_CAP } from '../../../bpf/opensnoop/limits.js';
import { SYSTEM_PYTHON } from '../../engine/tools.js';
import { ATTACH_MS, type Variant } from '../../engine/variant.js';
import type { OpensnoopExpectations } from './grade.js';

/** Names of opensnoop's output readers. */
export type OpensnoopParserName = 'opensnoop-table' | 'upstream-bpftrace' | 'upstream-bcc' | 'upstream-libbpf-tools';

export type OpensnoopVariant = Variant<OpensnoopExpectations> & { parser: OpensnoopParserName };

/** Our opensnoops' header (bpf/opensnoop/limits.ts HEADER), printed once every probe is attached. */
const READY = /^PID +TID +COMM +SYSCALL +FLAGS +MODE +RET +PATH$/;

const ALL_DOORS = { open: 'seen', openat: 'seen', openat2: 'seen' } as const;

/** Ours in C, BCC and TypeScript: every door, the whole row, escaped paths cut at PATH_CAP with a mark. */
const OURS: OpensnoopExpectations = {
  doors: ALL_DOORS,
  pathCap: PATH_CAP,
  cutMark: true,
  pathBytes: 'escaped',
  burst: 'complete',
  why: { pathCap: `a path is read into PATH_CAP + 2 bytes and shown up to PATH_CAP = ${PATH_CAP}` },
};

/** The bytes of a path our opensnoop.bt shows: buf() keeps them on the 512-byte BPF stack twice in bpftrace 0.17. */
const BPFTRACE_PATH_CAP = 160;

const BPFTRACE: OpensnoopExpectations = {
  doors: ALL_DOORS,
  pathCap: BPFTRACE_PATH_CAP,
  cutMark: true,
  pathBytes: 'escaped-bare-backslash',
  burst: 'complete',
  why: {
    pathCap: `the path is printed with %r from buf(), which bpftrace 0.17 keeps twice on the 512-byte BPF stack: ${BPFTRACE_PATH_CAP} bytes fit, then "..."`,
    pathBytes: "%r writes other bytes as \\xHH, as ours do, but a backslash as itself: a real '\\x41' and an escaped byte read alike",
  },
};

export const VARIANTS: OpensnoopVariant[] = [
  {
    example: 'opensnoop',
    tool: 'bpftrace',
    description: "bpftrace: the three doors' enter tracepoints save the path's address by thread, the exits read it and print it with %r",
    sources: ['bpf/opensnoop/opensnoop.bt'],
    requires: ['root', 'tracefs', 'tool:bpftrace'],
    command: ['env', `BPFTRACE_STRLEN=${BPFTRACE_PATH_CAP}`, 'BPFTRACE_PERF_RB_PAGES=1024', 'bpftrace', 'bpf/opensnoop/opensnoop.bt'],
    ready: READY,
    parser: 'opensnoop-table',
    attachTimeoutMs: ATTACH_MS.bpftrace,
    expect: BPFTRACE,
  },
  {
    example: 'opensnoop',
    tool: 'bcc',
    description: 'BCC: TRACEPOINT_PROBEs on the three doors, a hash map by thread id, a perf buffer',
    sources: ['bpf/opensnoop/opensnoop_bcc.c', 'bpf/opensnoop/opensnoop_bcc.py', 'bpf/bcc_load.py'],
    requires: ['root', 'tracefs', 'kernel-headers', 'tool:bcc'],
    command: [SYSTEM_PYTHON, 'bpf/opensnoop/opensnoop_bcc.py'],
    ready: READY,
    parser: 'opensnoop-table',
    attachTimeoutMs: ATTACH_MS.bcc,
    expect: OURS,
  },
  {
    example: 'opensnoop',
    tool: 'libbpf',
    description: 'libbpf, CO-RE: the three doors\' tracepoints, a hash map by thread id, a ring buffer',
    sources: ['bpf/opensnoop/opensnoop.bpf.c', 'bpf/opensnoop/opensnoop.c', 'bpf/opensnoop/opensnoop.h', 'bpf/Makefile'],
    requires: ['root', 'tracefs', 'btf', 'build:libbpf'],
    command: ['build/bpf/opensnoop'],
    ready: READY,
    parser: 'opensnoop-table',
    attachTimeoutMs: ATTACH_MS.libbpf,
    expect: OURS,
  },
  {
    example: 'opensnoop',
    tool: 'ts',
    description: 'raw instructions through bpf(): the same programs, offsets from the tracepoints\' format files',
    sources: ['bpf/opensnoop/opensnoop.ts', 'bpf/opensnoop/format.ts', 'bpf/ts/'],
    requires: ['root', 'tracefs'],
    command: ['node', 'build/js/opensnoop.cjs'],
    ready: READY,
    parser: 'opensnoop-table',
    attachTimeoutMs: ATTACH_MS.ts,
    expect: OURS,
  },
  // ---- upstream's, as Debian 12 ships them: reference variants (parse-upstream.ts says what each prints) ----
  {
    example: 'opensnoop',
    tool: 'upstream-bpftrace',
    description: "bpftrace's opensnoop.bt: open and openat's tracepoints, the path read at exit into BPFTRACE_STRLEN bytes",
    sources: ['/usr/sbin/opensnoop.bt'],
    requires: ['root', 'tracefs', 'tool:bpftrace', 'tool:upstream-bpftrace'],
    // the same perf buffer as ours is given (64 pages lose part of the storm): the script's own settings otherwise
    command: ['env', 'BPFTRACE_PERF_RB_PAGES=1024', 'bpftrace', '/usr/sbin/opensnoop.bt'],
    // BEGIN's first line: printed once every probe is attached, and the header after it reaches the reader
    ready: /^Tracing open syscalls\.\.\. Hit Ctrl-C to end\.$/,
    parser: 'upstream-bpftrace',
    attachTimeoutMs: ATTACH_MS.bpftrace,
    reference: true,
    expect: {
      doors: { open: 'seen', openat: 'seen', openat2: 'missed' },
      pathCap: 63,
      cutMark: false,
      pathBytes: 'raw',
      burst: 'complete',
      why: {
        doors: 'the script attaches to open and openat only: openat2 (Linux 5.6) is not traced',
        pathCap: "str() reads BPFTRACE_STRLEN = 64 bytes by default, NUL included, and cuts a longer path silently",
        pathBytes: "printf's %s writes the path's bytes as they are: bytes that are not UTF-8 reach the reader as U+FFFD",
      },
    },
  },
  {
    example: 'opensnoop',
    tool: 'upstream-bcc',
    description: "BCC's opensnoop-bpfcc -e: fexit (kretprobes without BTF) on the three doors' syscall functions, flags shown",
    sources: ['/usr/sbin/opensnoop-bpfcc'],
    requires: ['root', 'kernel-headers', 'tool:bcc', 'tool:upstream-bcc'],
    // -b: the perf buffer ours has, so the storm measures the tool and not a default size
    command: [SYSTEM_PYTHON, '-u', '/usr/sbin/opensnoop-bpfcc', '-e', '-b', '1024'],
    ready: /^PID +COMM +FD +ERR +FLAGS +PATH$/,
    parser: 'upstream-bcc',
    attachTimeoutMs: ATTACH_MS.bcc,
    reference: true,
    expect: {
      doors: ALL_DOORS,
      pathCap: 254,
      cutMark: false,
      pathBytes: 'raw',
      burst: 'complete',
      why: {
        pathCap: 'the path is read into char name[NAME_MAX = 255], NUL included, and cut silently',
        pathBytes: 'the path is written as its bytes: bytes that are not UTF-8 reach the reader as U+FFFD',
      },
    },
  },
  {
    example: 'opensnoop',
    tool: 'upstream-libbpf-tools',
    description: "libbpf-tools' opensnoop -e: open and openat's tracepoints, a perf buffer of 64 pages per CPU",
    sources: ['/usr/sbin/opensnoop'],
    requires: ['root', 'tracefs', 'btf', 'tool:upstream-libbpf-tools'],
    command: ['stdbuf', '-oL', '/usr/sbin/opensnoop', '-e'],
    ready: /^PID +COMM +FD +ERR +FLAGS +PATH$/,
    parser: 'upstream-libbpf-tools',
    attachTimeoutMs: ATTACH_MS.libbpf,
    reference: true,
    expect: {
      doors: { open: 'seen', openat: 'seen', openat2: 'missed' },
      pathCap: 254,
      cutMark: false,
      pathBytes: 'raw',
      burst: 'may-lose',
      why: {
        burst: "its perf buffer has 64 pages per CPU and no option to enlarge it: in the storm it overflows, and the tool says so ('Lost N events on CPU #C!')",
        doors: 'the tool attaches to open and openat\'s tracepoints only: openat2 (Linux 5.6) is not traced',
        pathCap: 'the path is read into char fname[NAME_MAX = 255], NUL included, and cut silently',
        pathBytes: "printf's %s writes the path's bytes as they are: bytes that are not UTF-8 reach the reader as U+FFFD",
      },
    },
  },
];
