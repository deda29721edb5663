// execsnoop's variants, as data: how to start each, how to know it is attached, which reader reads its
// output, and how it is expected to differ from the truth — each non-ideal expectation with the sentence
// that says why. The expectations were read from the sources and checked by running each variant on the
// host (6.18) and in the VM matrix against the exec workload (bpf/execsnoop, test/fixtures/parse).

import { ARGSIZE, MAX_ARGS } from '../../../bpf/execsnoop/limits.js';
import { SYSTEM_PYTHON } from '../../engine/tools.js';
import { ATTACH_MS, type Variant } from '../../engine/variant.js';
import { WHY_EXECVE_32, WHY_EXECVEAT } from '../exec-workload.js';

/** Names of execsnoop's output readers (parse.ts). */
export type ExecsnoopParserName =
  | 'execsnoop-table' // the course's table (our bcc/ts, the labs): PCOMM PID PPID RET ARGS, arguments shell-quoted
  | 'execsnoop-table-syscall' // our bcc, libbpf and ts: PCOMM PID PPID RET SYSCALL ARGS
  | 'execsnoop-bpftrace' // our execsnoop.bt
  | 'upstream-bcc' // execsnoop-bpfcc
  | 'upstream-libbpf-tools' // libbpf-tools execsnoop
  | 'upstream-bpftrace'; // execsnoop.bt

/** How an execsnoop variant is expected to differ from the truth. `null` means "no limit". */
export interface ExecsnoopExpectations {
  /** argv entries kept (argv[0] included); more are dropped and the event is marked truncated. */
  maxArgs: number | null;
  /** characters kept per argument; a longer one is cut. */
  maxArgLen: number | null;
  /** Whether a cut argument is shown with "..." after its kept bytes, or cut silently. */
  cutMark: boolean;
  /**
   * How dropped arguments are marked: a final "..." when argv had more than maxArgs entries
   * ('when-dropped'), as soon as maxArgs entries were read even if none was dropped ('at-cap'), or not at all.
   */
  droppedMark: 'when-dropped' | 'at-cap' | 'none';
  /** The tool stops at the first empty argument: it and the ones after it are not shown. */
  stopsAtEmptyArg: boolean;
  /**
   * 'kept': an empty argument is shown. 'lost-where-str-read-is-0': the tool packs arguments one after the
   * other, advancing by bpf_probe_read_user_str's return value — which is 0 for an empty string on some
   * kernels (5.10–6.12 here), so there the empty argument vanishes (the kernel fact is probed).
   */
  emptyArgs: 'kept' | 'lost-where-str-read-is-0';
  /**
   * An argument whose string the tool cannot read at sys_enter_execve (a page not yet touched):
   * 'reread-else-marked' — read again after a successful exec from the new program's stack (where the
   * kernel has just copied argv), marked unreadable after a failed one; 'reread-else-empty' — the same,
   * but shown as "" after a failed exec (the tool cannot tell a fault from an empty string);
   * 'shown-empty' — always ""; 'lost-from-first' — it and every argument after it are not shown.
   */
  unreadableArgs: 'reread-else-marked' | 'reread-else-empty' | 'shown-empty' | 'lost-from-first';
  /** What the tool shows as the first argument: argv[0], or the filename passed to exec. */
  firstArg: 'argv0' | 'filename';
  /** false when arguments are printed joined by spaces, so their boundaries are lost. */
  argBoundaries: boolean;
  /** When the tool reads comm: before exec (the old program) or after (the new one). */
  comm: 'enter' | 'exit' | 'none';
  ppid: boolean;
  ret: boolean;
  /** Whether a failed exec (ENOENT) produces an event. */
  failedExec: 'seen' | 'missed';
  /** An exec from a non-main thread: seen with the process id, seen with the thread id, or missed. */
  threadExec: 'seen' | 'tid' | 'missed';
  /** execveat calls: execve tracepoints do not fire for them. */
  execveat: 'seen' | 'missed';
  /** A successful exec through the 32-bit entry (int $0x80): no syscall tracepoint fires for it. A failed one is missed by all. */
  execve32: 'seen' | 'missed';
  /** Whether the tool says which door an exec came through (the event's syscall, and /dev/fd/N for an exec by fd). */
  syscall: 'shown' | 'none';
  /**
   * An argument holding bytes that are not UTF-8: 'escaped' — the tool writes them as \xHH and the event is marked
   * escaped; 'replaced' — printed raw, they reach the reader as U+FFFD, unmarked.
   */
  bytes: 'escaped' | 'replaced';
  /**
   * 'complete': every exec of a burst is reported whole. 'may-lose': the tool's buffer can overflow in a
   * burst, so some of its events come cut short or not at all; each one it does report in full must match.
   */
  burst: 'complete' | 'may-lose';
  /**
   * 'printed-without': the tool sends each argument as an event of its own and prints the exec at its return,
   * from per-CPU buffers read in turn; an exec that moved to another CPU between the two can have its return
   * read first, and is printed with no arguments at all. Absent: arguments always come with their exec.
   */
  argsAfterReturn?: 'printed-without';
  /**
   * Strings at the very top of the caller's stack (env exec'ing its own argv): 'shown-empty' — a fixed-size read
   * runs past the end of the mapping, faults, and the tool sends "" for each. Absent: read as any other.
   */
  stackTopArgs?: 'shown-empty';
  /** One sentence per expected difference above that is not the ideal, saying why. */
  why: Partial<Record<Exclude<keyof ExecsnoopExpectations, 'why'>, string>>;
}


export type ExecsnoopVariant = Variant<ExecsnoopExpectations> & { parser: ExecsnoopParserName };

/** The course's execsnoop header (our bcc and ts, the labs): printed once the probes are attached. */
export const TABLE_READY = /^PCOMM +PID +PPID +RET +ARGS$/;
/** Our libbpf execsnoop's header: the door each exec came through in a column of its own. */
const SYSCALL_TABLE_READY = /^PCOMM +PID +PPID +RET +SYSCALL +ARGS$/;

const WHY_RAW_BYTES =
  'arguments are printed as their bytes (or decoded with replacement): bytes that are not UTF-8 reach the reader as ' +
  'U+FFFD, with nothing to tell them from a real U+FFFD';


const WHY_THREAD_BY_TID =
  'the event is kept under the thread id at sys_enter_execve, but de_thread() gives an exec from a non-main ' +
  'thread the process id before sys_exit_execve, so the lookup there misses';
const WHY_READ_AT_ENTER_ONLY =
  'arguments are read at sys_enter_execve only, where a string in a page the process has not touched yet ' +
  'cannot be read (a BPF program cannot take the page fault)';
const WHY_COURSE_CAPS = {
  maxArgs: `at most MAX_ARGS = ${MAX_ARGS} argv entries are read (one loop iteration each); a final "..." marks the rest`,
  maxArgLen: `each argument is read into an ARGSIZE = ${ARGSIZE}-byte slot, NUL included; a cut one ends in "..."`,
  comm: "comm is read at sys_enter_execve, as the course does: it is the caller's name, not the new program's",
};

const COURSE_WHY_UNREADABLE =
  'an argument unreadable at sys_enter_execve is read again at sys_exit_execve from the new program\'s stack; ' +
  'after a failed exec there is no new program, so it is marked <unreadable>';

/**
 * The course versions (bcc, libbpf, and the lead's ts): one event per exec, built by enter and exit, kept
 * under the process id (the course's thread id loses execs from threads: see execsnoop.bpf.c).
 */
export const COURSE_EXECSNOOP: ExecsnoopExpectations = {
  maxArgs: MAX_ARGS,
  maxArgLen: ARGSIZE - 1,
  cutMark: true,
  droppedMark: 'when-dropped',
  stopsAtEmptyArg: false,
  emptyArgs: 'kept',
  unreadableArgs: 'reread-else-marked',
  firstArg: 'argv0',
  argBoundaries: true,
  comm: 'enter',
  ppid: true,
  ret: true,
  failedExec: 'seen',
  threadExec: 'seen',
  execveat: 'missed',
  execve32: 'missed',
  syscall: 'none',
  bytes: 'replaced',
  burst: 'complete',
  why: {
    ...WHY_COURSE_CAPS,
    execve32: WHY_EXECVE_32,
    bytes: WHY_RAW_BYTES,
    unreadableArgs: COURSE_WHY_UNREADABLE,
    execveat: WHY_EXECVEAT,
  },
};

/**
 * Our bcc, libbpf and ts execsnoops since issue 19: every successful exec from sched:sched_process_exec, whatever the door;
 * execve and execveat enter/exit for the arguments and the failed ones (execsnoop.bpf.c says why).
 */
const DOORS_EXECSNOOP: ExecsnoopExpectations = {
  ...COURSE_EXECSNOOP,
  execveat: 'seen',
  execve32: 'seen',
  syscall: 'shown',
  bytes: 'escaped',
  why: {
    ...WHY_COURSE_CAPS,
    unreadableArgs:
      'an argument unreadable at sys_enter_execve(at) is read again at sched_process_exec from the new program\'s ' +
      'stack; after a failed exec there is no new program, so it is marked <unreadable>',
    comm:
      "comm is read at sys_enter_execve(at), as the course does: the caller's; an exec through the 32-bit entry is " +
      'seen at sched_process_exec only, where it is the new program\'s',
    execve32:
      'an exec through the 32-bit entry is seen at sched_process_exec alone: comm is the new program\'s, and the ' +
      'arguments come from its stack',
    syscall:
      'at sched_process_exec nothing tells the 32-bit entry apart (set_personality_64bit() rewrites orig_ax to ' +
      '__NR_execve and clears TS_COMPAT): an exec no execve or execveat tracepoint saw start is shown as ?',
  },
};

/** The course's execsnoop.bt (lab 3 holds a student's to it): sys_enter_execve and sys_exit_execve. */
export const COURSE_BPFTRACE_EXECSNOOP: ExecsnoopExpectations = {
  ...COURSE_EXECSNOOP,
  unreadableArgs: 'reread-else-empty',
  why: {
    execve32: WHY_EXECVE_32,
    bytes: 'printf("%s") writes the bytes raw: bytes that are not UTF-8 reach the reader as U+FFFD, unmarked',
    unreadableArgs:
      'str() gives "" for a read that faults, the same as for an empty argument: after a successful exec the ' +
      'script reads argv again from the new program\'s stack, after a failed one an unreadable argument shows as ""',
    maxArgs: `the script's unroll(${MAX_ARGS}) reads at most ${MAX_ARGS} argv entries; a "more" record marks the rest`,
    maxArgLen:
      `str() keeps BPFTRACE_STRLEN-1 = 128 bytes (the BPF stack caps BPFTRACE_STRLEN at 200); ` +
      `128 shown means cut, and the parser shows it as ${ARGSIZE - 1} bytes and "..." like the C versions`,
    comm: WHY_COURSE_CAPS.comm,
    execveat: WHY_EXECVEAT,
  },
};

/** Our execsnoop.bt since issue 19: sched_process_exec for every successful exec, execve and execveat enters. */
const BPFTRACE_EXECSNOOP: ExecsnoopExpectations = {
  ...COURSE_BPFTRACE_EXECSNOOP,
  execveat: 'seen',
  execve32: 'seen',
  syscall: 'shown',
  why: { ...COURSE_BPFTRACE_EXECSNOOP.why, comm: DOORS_EXECSNOOP.why.comm, execve32: DOORS_EXECSNOOP.why.execve32, syscall: DOORS_EXECSNOOP.why.syscall },
};

export const VARIANTS: ExecsnoopVariant[] = [
  {
    example: 'execsnoop',
    tool: 'bpftrace',
    description: 'bpftrace script: enter prints pid, comm and each argument; exit prints ppid and ret',
    sources: ['bpf/execsnoop/execsnoop.bt'],
    requires: ['root', 'tracefs', 'btf', 'tool:bpftrace'],
    // str() keeps BPFTRACE_STRLEN-1 bytes: 129 shows 128, enough to tell a cut argument (see the script).
    // BPFTRACE_BTF: bpftrace 0.17 looks for the kernel's BTF with BPF_BTF_GET_NEXT_ID, which lists vmlinux
    // only from 5.11 on; on 5.10 it then knows no struct task_struct (curtask->real_parent). Naming the
    // file works on every kernel (measured on 5.10).
    // BPFTRACE_PERF_RB_PAGES: 1,024 pages a CPU (4 MiB), not 64: 2,000 execs from 40 processes at once (the storm
    // test) lost 707 of them through 64 pages, each exec being five or more records
    command: ['env', 'BPFTRACE_STRLEN=129', 'BPFTRACE_BTF=/sys/kernel/btf/vmlinux', 'BPFTRACE_PERF_RB_PAGES=1024', 'bpftrace', 'bpf/execsnoop/execsnoop.bt'],
    ready: /^Tracing execve\.\.\. Hit Ctrl-C to end\.$/,
    parser: 'execsnoop-bpftrace',
    attachTimeoutMs: ATTACH_MS.bpftrace,
    expect: BPFTRACE_EXECSNOOP,
  },
  {
    example: 'execsnoop',
    tool: 'bcc',
    description: 'BCC: TRACEPOINT_PROBEs (sched_process_exec, execve and execveat), BPF_HASH keyed by pid, BPF_PERF_OUTPUT, compiled at start-up',
    sources: ['bpf/execsnoop/execsnoop_bcc.c', 'bpf/execsnoop/execsnoop_bcc.py', 'bpf/bcc_load.py'],
    requires: ['root', 'tracefs', 'kernel-headers', 'tool:bcc'],
    command: [SYSTEM_PYTHON, 'bpf/execsnoop/execsnoop_bcc.py'],
    ready: SYSCALL_TABLE_READY,
    parser: 'execsnoop-table-syscall',
    attachTimeoutMs: ATTACH_MS.bcc,
    expect: DOORS_EXECSNOOP,
  },
  {
    example: 'execsnoop',
    tool: 'libbpf',
    description: 'libbpf CO-RE: sched_process_exec, execve and execveat tracepoints, hash map keyed by pid, per-CPU scratch, perf buffer',
    sources: ['bpf/execsnoop/execsnoop.bpf.c', 'bpf/execsnoop/execsnoop.c', 'bpf/execsnoop/execsnoop.h', 'bpf/Makefile'],
    requires: ['root', 'tracefs', 'btf', 'build:libbpf'],
    command: ['build/bpf/execsnoop'],
    ready: SYSCALL_TABLE_READY,
    parser: 'execsnoop-table-syscall',
    attachTimeoutMs: ATTACH_MS.libbpf,
    expect: DOORS_EXECSNOOP,
  },
  {
    example: 'execsnoop',
    tool: 'libbpf-static',
    description:
      'the libbpf execsnoop linked statically, built once on the build machine from its BTF: CO-RE lets the ' +
      'same binary run unchanged on every kernel of the matrix',
    sources: ['bpf/execsnoop/execsnoop.bpf.c', 'bpf/execsnoop/execsnoop.c', 'bpf/Makefile'],
    requires: ['root', 'tracefs', 'btf', 'build:libbpf'],
    command: ['build/bpf/execsnoop-static'],
    ready: SYSCALL_TABLE_READY,
    parser: 'execsnoop-table-syscall',
    attachTimeoutMs: ATTACH_MS.libbpf,
    expect: DOORS_EXECSNOOP,
  },
  {
    example: 'execsnoop',
    tool: 'cilium-go',
    description:
      "cilium/ebpf in Go: libbpf's execsnoop.bpf.c built by bpf2go (-target bpfel) with a ring buffer, read by " +
      "ringbuf.Reader; CO-RE by cilium/ebpf from the kernel's BTF; a static binary, no libbpf",
    sources: ['bpf/execsnoop/execsnoop.bpf.c', 'bpf/execsnoop/execsnoop_cilium.go', 'bpf/execsnoop/execsnoop.h', 'bpf/go.mod', 'bpf/Makefile'],
    requires: ['root', 'tracefs', 'btf', 'build:go'],
    command: ['build/bpf/execsnoop-cilium-go'],
    ready: SYSCALL_TABLE_READY,
    parser: 'execsnoop-table-syscall',
    attachTimeoutMs: ATTACH_MS.go,
    expect: DOORS_EXECSNOOP,
  },
  {
    example: 'execsnoop',
    tool: 'ts',
    description: 'raw struct bpf_insn from the TypeScript builder, loaded with bpf() through koffi; ring buffer',
    sources: ['bpf/execsnoop/execsnoop.ts', 'bpf/execsnoop/format.ts', 'bpf/ts/'],
    requires: ['root', 'tracefs', 'btf'],
    // the bundle ./lab builds from execsnoop.ts: no TypeScript compiler at run time
    command: ['node', 'build/js/execsnoop.cjs'],
    ready: SYSCALL_TABLE_READY,
    parser: 'execsnoop-table-syscall',
    attachTimeoutMs: ATTACH_MS.ts,
    expect: DOORS_EXECSNOOP,
  },

  // ---- upstream tools, as Debian 12 ships them: reference variants ----
  {
    example: 'execsnoop',
    tool: 'upstream-bcc',
    description: "BCC's execsnoop-bpfcc (0.26) with -x: kprobe + kretprobe on the syscall function",
    sources: ['/usr/sbin/execsnoop-bpfcc'],
    requires: ['root', 'kprobes', 'kernel-headers', 'tool:upstream-bcc'],
    command: [SYSTEM_PYTHON, '-u', '/usr/sbin/execsnoop-bpfcc', '-x'],
    ready: TABLE_READY,
    parser: 'upstream-bcc',
    attachTimeoutMs: ATTACH_MS.bcc,
    reference: true,
    expect: {
      maxArgs: 20,
      maxArgLen: 128,
      cutMark: false,
      droppedMark: 'none',
      stopsAtEmptyArg: false,
      emptyArgs: 'kept',
      unreadableArgs: 'shown-empty',
      firstArg: 'filename',
      argBoundaries: false,
      comm: 'exit',
      ppid: true,
      ret: true,
      failedExec: 'seen',
      threadExec: 'seen',
      execveat: 'missed',
      execve32: 'missed',
      syscall: 'none',
      bytes: 'replaced',
      stackTopArgs: 'shown-empty',
      burst: 'may-lose',
      argsAfterReturn: 'printed-without',
      why: {
        argsAfterReturn:
          'each argument is a perf event sent at the kprobe, the line is printed at the kretprobe\'s event, and Python ' +
          'reads the per-CPU buffers in turn: an exec that moved CPU in between can be printed before its arguments ' +
          'arrive, with none (seen once: a failed exec on 6.1 under TCG)',
        burst:
          'it sends each argument as a perf event of its own into an 8-page perf buffer per CPU, read by Python: ' +
          'in a burst under TCG some are lost, and an exec then shows fewer arguments or none (seen once in 600 on 6.12)',
        maxArgs: 'MAXARG = 20 fields: the filename and argv[1..19]',
        droppedMark:
          'it means to append "..." once it has read MAXARG fields, but reads that string from the BPF stack with ' +
          'bpf_probe_read_user, which fails for a kernel address (5.5+): an empty field is sent instead (measured on 6.1)',
        maxArgLen:
          'each field is a 128-byte bpf_probe_read_user (not _str): a longer argument shows its first 128 bytes ' +
          'with no mark',
        firstArg: 'the kprobe sends the filename argument of execve in place of argv[0]',
        argBoundaries: 'the Python side joins the arguments with spaces (and shows a newline as \\n)',
        comm: 'comm is read at the kretprobe, after exec: the new program\'s name (the old one if exec failed)',
        unreadableArgs:
          'each argument is read at the kprobe with bpf_probe_read_user, which zero-fills its buffer when the read ' +
          'faults: an argument in a page not yet touched is sent as an empty string',
        execveat: 'it probes the execve syscall function only; execveat is another function',
        stackTopArgs:
          'each field is a fixed 128-byte bpf_probe_read_user: a string within 128 bytes of the top of the caller\'s ' +
          'stack (env exec\'ing its own arguments) runs past the mapping, faults, and is sent empty (measured on 6.1)',
        execve32: 'it probes the execve syscall function (__x64_sys_execve); the 32-bit entry calls __ia32_sys_execve',
      },
    },
  },
  {
    example: 'execsnoop',
    tool: 'upstream-bpftrace',
    description: "bpftrace's execsnoop.bt (0.17): sys_enter_exec* printing join(args->argv)",
    sources: ['/usr/sbin/execsnoop.bt'],
    requires: ['root', 'tracefs', 'tool:bpftrace', 'tool:upstream-bpftrace'],
    command: ['bpftrace', '/usr/sbin/execsnoop.bt'],
    ready: /^TIME\(ms\) +PID +ARGS$/,
    parser: 'upstream-bpftrace',
    attachTimeoutMs: ATTACH_MS.bpftrace,
    reference: true,
    expect: {
      maxArgs: 16,
      maxArgLen: 1023,
      cutMark: false,
      droppedMark: 'none',
      stopsAtEmptyArg: true,
      emptyArgs: 'kept',
      unreadableArgs: 'lost-from-first',
      firstArg: 'argv0',
      argBoundaries: false,
      comm: 'none',
      ppid: false,
      ret: false,
      failedExec: 'seen',
      threadExec: 'seen',
      execveat: 'seen',
      execve32: 'missed',
      syscall: 'none',
      bytes: 'replaced',
      burst: 'complete',
      why: {
        maxArgs: 'join() in bpftrace 0.17 prints at most 16 arguments, with no mark for the rest (measured)',
        maxArgLen: 'join() keeps 1023 bytes of each argument, with no mark (measured)',
        argBoundaries: 'join() separates arguments with spaces',
        stopsAtEmptyArg: 'join() stops at the first empty argument: the ones after it are lost (measured)',
        unreadableArgs: `join() stops at the first argument it cannot read, as at an empty one; ${WHY_READ_AT_ENTER_ONLY}`,
        comm: 'the script prints no comm',
        ppid: 'the script prints no parent pid',
        ret: 'the script traces enter only, so it cannot know the return value; a failed exec looks like a success',
      },
    },
  },
  {
    example: 'execsnoop',
    tool: 'upstream-libbpf-tools',
    description: 'libbpf-tools execsnoop (0.26) with -x: CO-RE, tracepoints, map keyed by tid',
    sources: ['/usr/sbin/execsnoop'],
    requires: ['root', 'tracefs', 'btf', 'tool:upstream-libbpf-tools'],
    // its stdout is block-buffered when it is a pipe: the header (the ready signal) would wait for exit
    command: ['stdbuf', '-oL', '/usr/sbin/execsnoop', '-x'],
    ready: TABLE_READY,
    parser: 'upstream-libbpf-tools',
    attachTimeoutMs: ATTACH_MS.libbpf,
    reference: true,
    expect: {
      maxArgs: 20,
      maxArgLen: ARGSIZE - 1,
      cutMark: false,
      droppedMark: 'when-dropped',
      stopsAtEmptyArg: false,
      emptyArgs: 'lost-where-str-read-is-0',
      unreadableArgs: 'lost-from-first',
      firstArg: 'filename',
      argBoundaries: false,
      comm: 'exit',
      ppid: true,
      ret: true,
      failedExec: 'seen',
      threadExec: 'missed',
      execveat: 'missed',
      execve32: 'missed',
      syscall: 'none',
      bytes: 'replaced',
      burst: 'complete',
      why: {
        maxArgs: 'DEFAULT_MAXARGS = 20 entries, the filename counting as the first; " ..." marks the rest',
        maxArgLen: 'ARGSIZE = 128 bytes per argument, NUL included: a longer one shows 127 bytes with no mark',
        firstArg: 'sys_enter_execve reads the filename argument in place of argv[0]',
        argBoundaries: 'it prints every argument followed by one space, unquoted; a newline is printed as is',
        emptyArgs:
          'it packs the arguments and advances by bpf_probe_read_user_str\'s return value, which is 0 for an empty ' +
          'string on this kernel (documented: 1), so the empty argument takes no room and vanishes',
        comm: 'comm is read at sys_exit_execve, after exec: the new program\'s name (the old one if exec failed)',
        unreadableArgs: `the first argument it cannot read ends the list, with no mark; ${WHY_READ_AT_ENTER_ONLY}`,
        threadExec: WHY_THREAD_BY_TID,
        execveat: WHY_EXECVEAT,
      },
    },
  },
];
