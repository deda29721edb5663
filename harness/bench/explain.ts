// Why a variant loses events in the storm, as data beside the figures: each sentence was checked against a
// measured loss (./lab bench on the host 6.18 and in a 6.1 guest). A loss with no sentence here is reported as
// unexplained, so a new one is seen rather than hidden.

import type { Variant } from '../engine/variant.js';

const WHY: Record<string, string> = {
  'execsnoop/upstream-bpftrace':
    "execsnoop.bt's join() sends every argument in one perf record of 16 × 1 KiB (bpftrace 0.17's join_argnum × " +
    'join_argsize) into a perf buffer of 64 pages per CPU (BPFTRACE_PERF_RB_PAGES): a burst of execs fills it faster ' +
    'than bpftrace reads the CPUs in turn, and bpftrace counts and prints what it dropped ("Lost N events")',
  'counter/bpftrace':
    "bpftrace's maps hold at most 4,096 keys unless told otherwise (BPFTRACE_MAP_KEYS_MAX in 0.17): @per_pid is full " +
    'after 4,096 processes and later updates fail without a word, while @total, one key, still counts every exec',
};

/** The sentence explaining a variant's loss, or undefined when there is none to explain. */
export function explainLoss(v: Variant, lost: number, missing: number): string | undefined {
  if (lost + missing === 0) return undefined;
  const why = WHY[`${v.example}/${v.tool}`] ?? (v.expect as { why?: { burst?: string } } | undefined)?.why?.burst;
  return why ?? 'not explained yet: the variant declares no loss under a burst (harness/bench/explain.ts)';
}
