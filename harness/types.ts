// The data every part of the harness exchanges: what really happened (the exec workload's truth), and the
// verdicts. What a tool saw is each example's own type (harness/examples/).

/**
 * Which door a workload exec went through: execve tracepoints do not see execveat, and no syscall
 * tracepoint sees an exec through the 32-bit entry (int $0x80): 'execve-32'.
 */
export type ExecSyscall = 'execve' | 'execveat' | 'execve-32';

/** One difference from the truth, as data from grading to the table, the JSON, the CSV and the matrix. */
export interface Difference {
  /** The workload case it concerns ("many-args", "total"), or "" for the variant as a whole. */
  case: string;
  /** expected: the variant declares it, with its reason; quirk: the tool stumbled but every event is right. */
  level: 'expected' | 'quirk' | 'failure';
  /** What differs, in a word the example chooses ("maxArgs", "comm", "missed", "exit"). */
  kind: string;
  /** One line for a person. */
  text: string;
}

/** One exec the workload performed, and everything true about it. */
export interface ExecTruth {
  /** Case name, a short kebab-case sentence: "plain", "failed-enoent", "from-thread". */
  id: string;
  /** Unique string carried in argv (where the case allows), so noise can be told apart. */
  marker: string;
  syscall: ExecSyscall;
  /** tgid of the process that exec'd. */
  pid: number;
  /** Thread id that called exec (≠ pid for an exec from a non-main thread). */
  tid: number;
  ppid: number;
  /** The path passed to exec; for execveat(fd, "", …, AT_EMPTY_PATH) the name the kernel gives it, /dev/fd/N. */
  filename: string;
  /** execveat with AT_EMPTY_PATH: the fd it ran. */
  fd?: number;
  /**
   * argv exactly as passed, in the normalized events' form: when `escaped`, every argument is written with
   * each byte that is not UTF-8 as \xHH and each backslash as \\ (harness/examples/execsnoop/parse.ts).
   */
  argv: string[];
  /**
   * argv's strings are the caller's own arguments, at the very top of its stack (env exec'ing its argv[1]):
   * a tracer reading a fixed 128 bytes per string runs past the end of the stack mapping and faults.
   */
  argvAtStackTop?: boolean;
  /** An argument holds bytes that are not UTF-8: argv is written escaped. */
  escaped?: boolean;
  /** The argc the new program got, measured by the program itself (an argv of size 0 runs with one "" on 5.18+). */
  argcAfter?: number;
  /**
   * Indices of argv entries a tracer cannot read at sys_enter_execve: their strings sit in pages the
   * process has not touched, and a BPF program cannot take the page fault that would bring them in.
   */
  unreadableAtEnter?: number[];
  /** One of a burst of execs as fast as the machine goes (the thread storm): a tracer's buffers are tested too. */
  burst?: boolean;
  /** Return value as the tracepoint sees it: 0, or -errno (ENOENT → -2). */
  ret: number;
  /** comm of the calling thread before exec (what a tool reading comm at enter shows). */
  commBefore: string;
  /** comm after exec (basename of the file, cut to 15 bytes; unchanged when exec failed). */
  commAfter: string;
  /**
   * A launcher exec is not a test case: it only starts a helper process (for the thread and
   * execveat cases). Tools see it; the comparison accounts for it and does not grade it.
   */
  launcher?: boolean;
}

/** What the workload reports after running. */
export interface WorkloadRun {
  /** Unique per run; every marker starts with it. */
  runId: string;
  execs: ExecTruth[];
}

export type Status = 'pass' | 'fail' | 'skip' | 'error';

/** Why a variant was skipped, as data: the CSV and JSON carry the kind next to the sentence. */
export type SkipKind =
  | 'tool-missing'
  | 'no-kernel-headers'
  | 'no-btf'
  | 'no-kprobes'
  | 'no-tracefs'
  | 'not-root'
  | 'kernel-too-old'
  | 'compile-failed'
  | 'build-failed';

/** Verdict for one workload case in one variant. */
export type CaseVerdict = 'matched' | 'differs' | 'missed' | 'expected-missing';

export interface CaseOutcome {
  id: string;
  verdict: CaseVerdict;
  /** The texts of the case's differences, expected ones first. */
  notes: string[];
}

/** The result of one variant, shaped as `compare --json` schema 1 wants it. */
export interface VariantResult {
  name: string;
  example: string;
  tool: string;
  /** What the variant is, in a line (from its spec). */
  description?: string;
  status: Status;
  reason?: string;
  skipKind?: SkipKind;
  expected: number;
  matched: number;
  startupMs?: number;
  /**
   * Every difference from the truth, as data, from the grade to the edge: the table, the CSV, the matrix and the
   * JSON's `differences` strings (report.ts: toJson) render it there.
   */
  details: Difference[];
  /** Per-case detail for the table; not part of the JSON contract but kept there for debugging. */
  cases?: CaseOutcome[];
  /** On failure: the command that ran and the tail of its output. */
  command?: string[];
  output?: string;
}

export interface TargetInfo {
  kind: 'host' | 'qemu' | 'vagrant';
  kernel: string;
  accel: 'none' | 'tcg' | 'kvm';
  btf: boolean;
  bootMs?: number;
  /** Under TCG, how QEMU ran the vCPUs (vm/qemu.ts, tcgSetup). */
  tcgThread?: 'multi' | 'single';
  /** The QEMU that ran the guest when not the system's: "10.0.2 (bookworm-backports)" (vm/qemu-build.ts). */
  qemu?: string;
  /** Runs of the VM that died of a fault of the emulator's kind and were run again (vm/qemu.ts): counted, never hidden. */
  emulatorRetries?: number;
}

export interface CompareReport {
  schema: 1;
  target: TargetInfo;
  variants: VariantResult[];
}
