// The arithmetic and the parsing of ./lab bench, apart from any process or kernel so that tests can feed it
// canned inputs: statistics of repeated runs, /proc/PID/status and fdinfo, cgroup v2's memory.peak, the
// deltas of the kernel's per-program run-time counters, the loss a tool reports, and the storm's accounting.

/** min / median / max of repeated measurements (the median of an even count is the mean of the middle two). */
export interface Spread {
  n: number;
  min: number;
  median: number;
  max: number;
}

export function spread(values: readonly number[]): Spread | undefined {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { n: xs.length, min: xs[0], median, max: xs[xs.length - 1] };
}

/** Kibibytes of a "VmHWM:   1234 kB" line of /proc/PID/status (the peak resident set), or undefined. */
export function statusKb(status: string, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number | undefined {
  const m = new RegExp(`^${field}:\\s*(\\d+)\\s*kB$`, 'm').exec(status);
  return m ? Number(m[1]) : undefined;
}

/** The parent pid (field 4) of /proc/PID/stat; the comm in parentheses may hold spaces and parentheses. */
export function statPpid(stat: string): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** cgroup v2 memory.peak: bytes, one number ("max" never appears there, unlike memory.max). */
export function parseMemoryPeak(text: string): number | undefined {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** What /proc/PID/fdinfo/FD says of a BPF program or map fd (kernel/bpf/syscall.c: bpf_*_show_fdinfo). */
export interface BpfFdInfo {
  kind: 'prog' | 'map';
  id: number;
  /** Bytes charged for it ("memlock:"): a map's entries and buffers, a program's instructions. */
  memlock: number;
  /** Programs, while run-time statistics are on; 0 otherwise. */
  runTimeNs?: bigint;
  runCount?: bigint;
  /** "prog_type:" or "map_type:" as a number. */
  type?: number;
  maxEntries?: number;
}

/** Parses one fdinfo text; undefined for an fd that is neither a BPF program nor a map. */
export function parseBpfFdInfo(text: string): BpfFdInfo | undefined {
  const f = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+):\s*(.*)$/.exec(line);
    if (m) f.set(m[1], m[2].trim());
  }
  const num = (k: string) => (f.has(k) ? Number(f.get(k)) : undefined);
  if (f.has('prog_id')) {
    return {
      kind: 'prog',
      id: num('prog_id')!,
      memlock: num('memlock') ?? 0,
      type: num('prog_type'),
      runTimeNs: f.has('run_time_ns') ? BigInt(f.get('run_time_ns')!) : undefined,
      runCount: f.has('run_cnt') ? BigInt(f.get('run_cnt')!) : undefined,
    };
  }
  if (f.has('map_id')) return { kind: 'map', id: num('map_id')!, memlock: num('memlock') ?? 0, type: num('map_type'), maxEntries: num('max_entries') };
  return undefined;
}

/** A program's cost over an interval: what the kernel's counters grew by. */
export interface ProgCost {
  id: number;
  runs: number;
  ns: number;
  /** ns / runs, or undefined when it did not run. */
  nsPerRun?: number;
}

/** Per-program deltas of run_time_ns / run_cnt between two readings (a program absent before starts at 0). */
export function statsDelta(before: readonly BpfFdInfo[], after: readonly BpfFdInfo[]): ProgCost[] {
  const start = new Map(before.filter((p) => p.kind === 'prog').map((p) => [p.id, p]));
  const seen = new Set<number>();
  const out: ProgCost[] = [];
  for (const p of after) {
    if (p.kind !== 'prog' || seen.has(p.id)) continue;
    seen.add(p.id);
    const b = start.get(p.id);
    const runs = Number((p.runCount ?? 0n) - (b?.runCount ?? 0n));
    const ns = Number((p.runTimeNs ?? 0n) - (b?.runTimeNs ?? 0n));
    out.push({ id: p.id, runs, ns, nsPerRun: runs > 0 ? ns / runs : undefined });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Kernel memory of a set of BPF objects, each counted once however many fds (or processes) hold it. */
export function kernelMemlock(objects: readonly BpfFdInfo[]): { maps: number; progs: number; bytes: number } {
  const unique = new Map(objects.map((o) => [`${o.kind}:${o.id}`, o]));
  let maps = 0;
  let progs = 0;
  let bytes = 0;
  for (const o of unique.values()) {
    if (o.kind === 'map') maps++;
    else progs++;
    bytes += o.memlock;
  }
  return { maps, progs, bytes };
}

/**
 * The events a tool says it lost, summed over its output: libbpf's and our perf readers ("lost 3 events on
 * CPU 1"), libbpf-tools ("Lost 3 events on CPU #1!"), bpftrace ("Lost 3 events"), BCC ("Possibly lost 3 samples").
 */
export function reportedLost(lines: readonly string[]): number {
  let n = 0;
  for (const l of lines) {
    const m = /\blost (\d+) (?:events|samples)\b/i.exec(l);
    if (m) n += Number(m[1]);
  }
  return n;
}

/**
 * One storm's books. The kernel's count (a counter program beside the tracer) is the truth; what the tool
 * printed and what it says it lost leave the rest, missing without a word. The books close when the tool
 * printed no event twice, nothing it never could have seen, and the kernel counted every exec the storm made.
 */
export interface StormAccount {
  /** Execs the storm made that succeeded (the helper's own count). */
  execs: number;
  /** sys_exit_execve of a storm exec with ret 0, counted by the kernel-side counter. */
  kernel: number;
  /** Distinct storm execs the tool reported. */
  received: number;
  /** Events the tool said it lost (capped at what was not received: a tool may count other events too). */
  reportedLost: number;
  /** kernel − received − reportedLost. */
  silentlyMissing: number;
  /** Reported more than once: a broken reader. */
  duplicates: number;
  closes: boolean;
  /** Why the books do not close, when they do not. */
  problem?: string;
}

export function account(o: { execs: number; kernel: number; received: number; duplicates: number; reportedLost: number }): StormAccount {
  const lost = Math.max(0, Math.min(o.reportedLost, o.kernel - o.received));
  const silentlyMissing = o.kernel - o.received - lost;
  const problems: string[] = [];
  if (o.kernel !== o.execs) problems.push(`the kernel counted ${o.kernel} execs, the storm made ${o.execs}`);
  if (o.received > o.kernel) problems.push(`${o.received} events received, more than the kernel's ${o.kernel}`);
  if (o.duplicates > 0) problems.push(`${o.duplicates} execs reported more than once`);
  return {
    execs: o.execs,
    kernel: o.kernel,
    received: o.received,
    reportedLost: lost,
    silentlyMissing: Math.max(0, silentlyMissing),
    duplicates: o.duplicates,
    closes: problems.length === 0 && lost + Math.max(0, silentlyMissing) + o.received === o.kernel,
    ...(problems.length ? { problem: problems.join('; ') } : {}),
  };
}

/** A tool's start-up phases, from its "lab-phase NAME MS" lines on stderr (LAB_PHASES=1: the ts, libbpf and BCC tools). */
export function parsePhases(lines: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    const m = /^lab-phase (\S+) (\d+(?:\.\d+)?)$/.exec(l);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Execs per second from a count and nanoseconds. */
export const rate = (execs: number, ns: number): number => (ns > 0 ? execs / (ns / 1e9) : 0);
