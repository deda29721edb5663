// The data every part of the harness exchanges: what a tool saw, what really happened, and the verdict.

/** One exec as any tool reports it, after its native output is parsed and normalized. */
export interface ExecEvent {
  /** Process id (tgid) — or the thread id, for a tool that reports the task's tid. */
  pid: number;
  /** Parent's tgid, when the tool reports it. */
  ppid?: number;
  /** The task's comm (≤ 15 characters): the old program's name at enter, the new one's at exit. */
  comm: string;
  /** The syscall's return value (0 or -errno), when the tool reports it. */
  ret?: number;
  /**
   * argv as the tool shows it: possibly capped in count and length (a capped argument ends in "..."); an
   * argument the tool could not read is UNREADABLE (parse.ts), never an empty string.
   */
  args: string[];
  /** The tool said it dropped arguments or cut one short. */
  truncated: boolean;
  /** The tool said it could not read an argument (shown as UNREADABLE in args). */
  unreadable: boolean;
}

/** The per-process execve counts a counter variant reports when it stops. */
export interface CounterSnapshot {
  /** The array map's single entry: every execve the kernel saw while attached. */
  total: number;
  /** The hash map: tgid → execve calls. */
  perPid: Map<number, number>;
}

/** Which syscall a workload exec used: execve tracepoints do not see execveat. */
export type ExecSyscall = 'execve' | 'execveat';

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
  /** The path passed to exec. */
  filename: string;
  /** argv exactly as passed. */
  argv: string[];
  /**
   * Indices of argv entries a tracer cannot read at sys_enter_execve: their strings sit in pages the
   * process has not touched, and a BPF program cannot take the page fault that would bring them in.
   */
  unreadableAtEnter?: number[];
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

/** Verdict for one workload exec in one variant. */
export type ExecVerdict = 'matched' | 'differs' | 'missed' | 'expected-missing';

export interface ExecOutcome {
  id: string;
  verdict: ExecVerdict;
  /** One line per field that did not match exactly, each marked expected or not. */
  notes: string[];
}

/** How a difference line ends when the variant declares it, or when it is a tool's quirk that changes no event. */
export const EXPECTED = '(expected)';
export const QUIRK = '(tool quirk)';

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
  differences: string[];
  /** Per-exec detail for the table; not part of the JSON contract but kept there for debugging. */
  execs?: ExecOutcome[];
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
}

export interface CompareReport {
  schema: 1;
  target: TargetInfo;
  variants: VariantResult[];
}
