// What a variant is, as data: how to run it, how to know it is attached, how to read its output, and
// which differences from the ground truth are expected of it — each with the sentence that explains why.
// The specs live with their example (harness/examples/); the TypeScript types make unknown fields an error.

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
  | 'build:libbpf'
  | 'build:go';

/**
 * A machine-wide resource only one variant may use at a time: the trace pipe is one buffer with one reader
 * (a second open fails with EBUSY), and every program's bpf_printk writes into it. The session runs such
 * variants one after the other.
 */
export type Exclusive = 'trace-pipe';

export interface Variant<Expect = unknown> {
  /** The example's name (harness/examples/). */
  example: string;
  /** bpftrace, bcc, libbpf, ts, or a reference's name (upstream-bcc, …). */
  tool: string;
  /** One line for the table and the README. */
  description: string;
  /** The files a reader opens to see this variant, relative to the project root. */
  sources: string[];
  requires: Requirement[];
  /** argv, run from the project root. */
  command: string[];
  /** A line on the tool's stdout (or stderr) that says the probes are attached. */
  ready: RegExp;
  /** Which of its example's output readers reads it ("execsnoop-table"): the example knows them. */
  parser: string;
  /** How long attaching may take at most (BCC compiles at start: ~30 s under TCG, more on 5.10). */
  attachTimeoutMs: number;
  /** Reference variants (upstream tools) are reported but are not what the course teaches. */
  reference?: boolean;
  exclusive?: Exclusive;
  /** How this variant is expected to differ from the truth, in its example's terms. */
  expect: Expect;
}

/** How long attaching takes at most on an unloaded machine; the harness scales it for TCG guests. */
// bpftrace compiles its script with LLVM at start: execsnoop.bt took 60–100 s in TCG guests starting with
// 14 other tracers (7.2 once exceeded 100 s); ts: Node reading the kernel's BTF (0.3 s here)
// cilium-go: the Go runtime starts in milliseconds, then parses the kernel's BTF in Go (~0.3 s here)
export const ATTACH_MS = { libbpf: 5_000, bpftrace: 20_000, bcc: 30_000, ts: 10_000, go: 10_000 };

/** Facts about the kernel under test that some expectations depend on, probed once per run. */
export interface KernelFacts {
  /** bpf_probe_read_user_str("") returns 1, its NUL, as documented (features.ts: str_counts_nul). */
  strReadCountsNul: boolean;
  /**
   * A program on a syscall tracepoint can be preempted, and one that starts again on the same CPU meanwhile
   * is skipped by BPF's recursion check (counted in the program's recursion_misses): a burst from many
   * threads loses events in every tool. Measured under TCG: 7.2, 585 misses in 1,547 runs of one tool's enter
   * program in a 2,000-open storm; none on 6.12, none on the host's 6.18 in 12,000. Taken as true from 7.0.
   */
  syscallProgsPreemptible?: boolean;
}

export const DOCUMENTED_KERNEL: KernelFacts = { strReadCountsNul: true, syscallProgsPreemptible: false };

export const variantName = (v: Pick<Variant, 'example' | 'tool'>): string => `${v.example}/${v.tool}`;
