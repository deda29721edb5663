// What a variant is, as data: how to run it, how to know it is attached, how to read its output, and
// which differences from the ground truth are expected of it — each with the sentence that explains why.
// The specs themselves live in harness/variants.ts; the TypeScript types make unknown fields an error.

export type Example = 'execsnoop' | 'counter';

export type Tool =
  | 'bpftrace'
  | 'bcc'
  | 'libbpf'
  | 'ts'
  | 'upstream-bcc'
  | 'upstream-bpftrace'
  | 'upstream-libbpf-tools'
  | 'libbpf-kprobe'
  | 'libbpf-static';

/** Something a variant needs; each is checked before it runs, and a missing one becomes a skip with a reason. */
export type Requirement =
  | 'root'
  | 'tracefs'
  | 'btf'
  | 'kprobes'
  | 'kernel-headers'
  | 'tool:bpftrace'
  | 'tool:bcc'
  | 'tool:upstream-bcc'
  | 'tool:upstream-bpftrace'
  | 'tool:upstream-libbpf-tools'
  | 'build:libbpf';

/** Names of the native-output parsers in harness/parse.ts. */
export type ParserName =
  | 'execsnoop-table' // our bcc/libbpf/ts: PCOMM PID PPID RET ARGS, arguments shell-quoted
  | 'execsnoop-bpftrace' // our execsnoop.bt
  | 'upstream-bcc' // execsnoop-bpfcc
  | 'upstream-libbpf-tools' // libbpf-tools execsnoop
  | 'upstream-bpftrace' // execsnoop.bt
  | 'counter-table' // our bcc/libbpf/ts counter: PID COUNT lines, then TOTAL n
  | 'counter-bpftrace'; // bpftrace's own map printout

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
  /** One sentence per expected difference above that is not the ideal, saying why. */
  why: Partial<Record<Exclude<keyof ExecsnoopExpectations, 'why'>, string>>;
}

/** How a counter variant is expected to behave. */
export interface CounterExpectations {
  /** Counts per process (tgid) in a hash map. */
  perPid: boolean;
  /** A total in a one-entry array map. */
  total: boolean;
  /** execveat is a different syscall: the counter does not count it. */
  execveat: 'counted' | 'not-counted';
  why: Partial<Record<'perPid' | 'total' | 'execveat', string>>;
}

interface VariantBase {
  example: Example;
  tool: Tool;
  /** One line for the table and the README. */
  description: string;
  /** The files a reader opens to see this variant, relative to the project root. */
  sources: string[];
  requires: Requirement[];
  /** argv, run from the project root. */
  command: string[];
  /** A line on the tool's stdout (or stderr) that says the probes are attached. */
  ready: RegExp;
  parser: ParserName;
  /** How long attaching may take at most (BCC compiles at start: ~30 s under TCG, more on 5.10). */
  attachTimeoutMs: number;
  /** Reference variants (upstream tools) are reported but are not what the course teaches. */
  reference?: boolean;
}

export interface ExecsnoopVariant extends VariantBase {
  example: 'execsnoop';
  expect: ExecsnoopExpectations;
}

export interface CounterVariant extends VariantBase {
  example: 'counter';
  expect: CounterExpectations;
}

export type Variant = ExecsnoopVariant | CounterVariant;

/** Facts about the kernel under test that some expectations depend on, probed once per run. */
export interface KernelFacts {
  /** bpf_probe_read_user_str("") returns 1, its NUL, as documented (features.ts: str_counts_nul). */
  strReadCountsNul: boolean;
}

export const DOCUMENTED_KERNEL: KernelFacts = { strReadCountsNul: true };

export const variantName = (v: Pick<Variant, 'example' | 'tool'>): string => `${v.example}/${v.tool}`;
