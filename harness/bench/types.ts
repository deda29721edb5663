// What ./lab bench reports (`--json`, and runBench() for notebook 5): one record per variant, every figure
// taken in the same run, so that ratios between variants mean something on a shared machine.

import type { TargetInfo } from '../engine/types.js';
import type { ProgCost, Spread, StormAccount } from './measure.js';
import type { Published } from './published.js';

export interface VariantBench {
  name: string;
  example: string;
  tool: string;
  reference: boolean;
  /** ok: measured; skip: cannot run here (reason says why); fail: it ran and broke, or its books did not close. */
  status: 'ok' | 'skip' | 'fail';
  reason?: string;
  /** Non-blank lines of the variant's own sources (its spec's `sources`, directories included). */
  loc: number;
  /** What it needs at run time on the target. */
  footprint?: Footprint;
  startup?: {
    /** Launch to the ready line (probes attached). */
    readyMs: Spread;
    /** Launch to the canary exec's event printed (execsnoop only). */
    firstEventMs?: Spread;
    /**
     * Where start-up goes, for the tools that say (LAB_PHASES=1): ts start (Node and modules), btf+tracefs,
     * load, attach; libbpf start, open, load, attach; BCC start (Python, import bcc), compile+load+attach.
     */
    phases?: Record<string, Spread>;
  };
  memory?: {
    /** Peak resident set of the tracer's process tree while attached and through the storm, in KiB. */
    rssKb: number;
    method: 'VmHWM';
    processes: number;
    /** Kernel side: the memlock of its maps and programs (fdinfo), in bytes. */
    kernelBytes: number;
    maps: number;
    progs: number;
  };
  /** The kernel's measure (BPF_ENABLE_STATS): each program's runs and ns during the traced storm. */
  cost?: { programs: ProgCost[]; nsPerExec?: number };
  /** The untraced storm run right before this variant's traced one. */
  baseline?: { rate: number; kernel: number; ok: number };
  storm?: {
    /** Execs per second with the tracer attached. */
    rate: number;
    /** rate / baseline.rate: 1 is free, 0.5 halves the exec rate. */
    ratio?: number;
    /** Absent for an example that reports no per-exec output (hello). */
    account?: StormAccount;
    /** Why it lost what it lost (explain.ts), when it lost any. */
    lossExplained?: string;
  };
}

export interface Footprint {
  /** Bytes on disk the tool needs at run time beyond libc: its executable or interpreter, libraries, headers. */
  bytes: number;
  /** What was counted, biggest first ("libLLVM-14.so.1 98 MB"). */
  parts: { what: string; bytes: number }[];
}

export interface BenchReport {
  schema: 1;
  kind: 'bench';
  target: TargetInfo;
  storm: number;
  repeats: number;
  startedAt: string;
  durationMs: number;
  /** Exec rate without a tracer (one run before each variant's traced run): the ceiling. */
  untracedRate?: Spread;
  memoryMethod: 'VmHWM';
  /** Time to build the libbpf object and skeleton (clang -target bpf, bpftool gen skeleton, cc), when measured. */
  build?: { objectMs: number; skeletonMs: number; binaryMs: number };
  notes?: string[];
  variants: VariantBench[];
  published: Published[];
}
