// Lab 2: what its collector (collect.ts, where the student's code runs) and its judge (checks.ts, on the
// host) agree on: the settings of a run, the evidence, and what the student's program may call.

/** The line the student's bundle prints its instructions on. */
export const PROGRAM_LINE = 'LAB-PROGRAM ';

/**
 * The helpers a counter needs (include/uapi/linux/bpf.h's numbers): map_lookup_elem 1, map_update_elem 2,
 * map_delete_elem 3, get_current_pid_tgid 14. A program calling another is not loaded: bpf_probe_write_user
 * (36) could write into the grader's own memory, bpf_send_signal (109) signal it.
 */
export const ALLOWED_HELPERS = [1, 2, 3, 14];

export interface CounterSettings {
  /** How many execs this run makes (from the host's seed): more than any visible case, from threads, from short-lived children. */
  workload: { singles: number; many: number; stormChildren: number };
}

export type ProcKind = 'single' | 'chain-4' | 'chain-many' | 'thread' | 'storm-launcher' | 'storm-child';

/** The processes the workload made, each with the execs it made. */
export type Workload = { kind: ProcKind; pid: number; execs: number }[];

export interface CounterEvidence {
  /** What the student's code built: the instructions (hex, assembled by the agent), or why there are none. */
  program: { insns?: string; foreignHelpers?: number[]; error?: string; detail?: string[] };
  load: { ok?: true; rejected?: { words: string; at: string } };
  counts: {
    /** How much `total` grew while the workload ran. */
    totalDelta: number;
    procs: (Workload[number] & { counted: number })[];
    /** The agent's own count in per_pid: it did not exec. */
    agent: number;
    /** Entries in per_pid after the workload. */
    entries: number;
  };
}
