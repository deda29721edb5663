// The data every part of the harness exchanges: the verdicts. What really happened (a workload's truth) and
// what a tool saw are each example's own types (harness/examples/).

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
