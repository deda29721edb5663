// counter: count execve calls in BPF maps — a total in a one-entry array (the cilium/ebpf kprobe example's
// counter) and a count per process in a hash — graded process by process against the exec workload. Its
// variants, the reader of each tool's printout and its grading are here; bpf/counter/ holds the tools.

import { formatCounts } from '../../bpf/counter/format.js';
import { addMember, defineExample, emptyGrade, recordCase, type CaseMember, type Grade } from '../engine/example.js';
import { SYSTEM_PYTHON } from '../engine/tools.js';
import type { WorkloadRun } from './exec-workload.js';
import { ATTACH_MS, type Variant } from '../engine/variant.js';
import { EXEC_TRUTH, runWorkload, WHY_COURSE_DOORS } from './exec-workload.js';

/** The per-process execve counts a counter variant reports when it stops. */
export interface CounterSnapshot {
  /** The array map's single entry: every execve the kernel saw while attached. */
  total: number;
  /** The hash map: tgid → execve calls. */
  perPid: Map<number, number>;
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

export type CounterParserName =
  | 'counter-table' // our bcc/libbpf/ts counter: PID COUNT lines, then TOTAL n
  | 'counter-bpftrace'; // bpftrace's own map printout

const COUNTER_READY = /^Counting execve calls\.\.\. Hit Ctrl-C to end\.$/;

const COURSE_COUNTER: CounterExpectations = {
  perPid: true,
  total: true,
  execveat: 'not-counted',
  why: { execveat: WHY_COURSE_DOORS },
};

export const VARIANTS: (Variant<CounterExpectations> & { parser: CounterParserName })[] = [
  {
    example: 'counter',
    tool: 'bpftrace',
    description: 'bpftrace one-probe script: @total = count(), @per_pid[pid] = count()',
    sources: ['bpf/counter/counter.bt'],
    requires: ['root', 'tracefs', 'tool:bpftrace'],
    command: ['bpftrace', 'bpf/counter/counter.bt'],
    ready: COUNTER_READY,
    parser: 'counter-bpftrace',
    attachTimeoutMs: ATTACH_MS.bpftrace,
    expect: COURSE_COUNTER,
  },
  {
    example: 'counter',
    tool: 'bcc',
    description: 'BCC: BPF_ARRAY total and BPF_HASH per pid, atomic_increment in a TRACEPOINT_PROBE',
    sources: ['bpf/counter/counter_bcc.c', 'bpf/counter/counter_bcc.py', 'bpf/bcc_load.py'],
    requires: ['root', 'tracefs', 'kernel-headers', 'tool:bcc'],
    command: [SYSTEM_PYTHON, 'bpf/counter/counter_bcc.py'],
    ready: COUNTER_READY,
    parser: 'counter-table',
    attachTimeoutMs: ATTACH_MS.bcc,
    expect: COURSE_COUNTER,
  },
  {
    example: 'counter',
    tool: 'libbpf',
    description: 'libbpf: array total and per-pid hash on the sys_enter_execve tracepoint',
    sources: ['bpf/counter/counter.bpf.c', 'bpf/counter/counter.c', 'bpf/Makefile'],
    requires: ['root', 'tracefs', 'build:libbpf'],
    command: ['build/bpf/counter'],
    ready: COUNTER_READY,
    parser: 'counter-table',
    attachTimeoutMs: ATTACH_MS.libbpf,
    expect: COURSE_COUNTER,
  },
  {
    example: 'counter',
    tool: 'libbpf-kprobe',
    description:
      'libbpf, the seed\'s kprobe form: SEC("ksyscall/execve"), which libbpf resolves to __x64_sys_execve — since ' +
      '4.17 x86-64 enters syscalls through __x64_sys_* wrappers taking a pt_regs, so the sys_execve of older ' +
      'examples no longer exists to probe',
    sources: ['bpf/counter/counter.bpf.c', 'bpf/counter/counter.c', 'bpf/Makefile'],
    requires: ['root', 'kprobes', 'build:libbpf'],
    command: ['build/bpf/counter', '--kprobe'],
    ready: COUNTER_READY,
    parser: 'counter-table',
    attachTimeoutMs: ATTACH_MS.libbpf,
    expect: {
      ...COURSE_COUNTER,
      why: { execveat: 'execveat enters the kernel through __x64_sys_execveat and the 32-bit entry through __ia32_sys_execve, other functions than the one probed' },
    },
  },
  {
    example: 'counter',
    tool: 'cilium-go',
    description:
      "cilium/ebpf in Go, the course's hello world: bpf2go's bpfObjects, the course's array (BTF-defined) and a per-pid " +
      'hash, on the sys_enter_execve tracepoint (the kprobe needs CONFIG_KPROBES); a static binary, no libbpf',
    sources: ['bpf/counter/counter_cilium.bpf.c', 'bpf/counter/counter_cilium.go', 'bpf/go.mod', 'bpf/Makefile'],
    requires: ['root', 'tracefs', 'build:go'],
    command: ['build/bpf/counter-cilium-go'],
    ready: COUNTER_READY,
    parser: 'counter-table',
    attachTimeoutMs: ATTACH_MS.go,
    expect: COURSE_COUNTER,
  },
  {
    example: 'counter',
    tool: 'cilium-go-kprobe',
    description:
      'the course\'s own form: link.Kprobe("sys_execve"), which finds no such function since 4.17 and retries with ' +
      'the platform prefix, __x64_sys_execve',
    sources: ['bpf/counter/counter_cilium.bpf.c', 'bpf/counter/counter_cilium.go', 'bpf/go.mod', 'bpf/Makefile'],
    requires: ['root', 'kprobes', 'build:go'],
    command: ['build/bpf/counter-cilium-go', '--kprobe'],
    ready: COUNTER_READY,
    parser: 'counter-table',
    attachTimeoutMs: ATTACH_MS.go,
    expect: {
      ...COURSE_COUNTER,
      why: { execveat: 'execveat enters the kernel through __x64_sys_execveat and the 32-bit entry through __ia32_sys_execve, other functions than the one probed' },
    },
  },
  {
    example: 'counter',
    tool: 'ts',
    description: 'raw instructions: array total and per-pid hash, lock xadd, on sys_enter_execve',
    sources: ['bpf/counter/counter.ts', 'bpf/ts/'],
    requires: ['root', 'tracefs'],
    command: ['node', 'build/js/counter.cjs'], // bundled from counter.ts by ./lab
    ready: COUNTER_READY,
    parser: 'counter-table',
    attachTimeoutMs: ATTACH_MS.ts,
    expect: COURSE_COUNTER,
  },
];

const COUNTER_FORMATS: Record<CounterParserName, { row: RegExp; total: RegExp; totalRequired: boolean }> = {
  // Our counters always end with the TOTAL line: without it, the tool did not finish.
  'counter-table': { row: /^(\d+) +(\d+)$/, total: /^TOTAL +(\d+)$/, totalRequired: true },
  // bpftrace prints no map that was never written: no "@total" line means no execve was seen.
  'counter-bpftrace': { row: /^@per_pid\[(\d+)\]: (\d+)$/, total: /^@total: (\d+)$/, totalRequired: false },
};

/**
 * A counter's stdout after it stopped. counter-table: "PID     COUNT", "%-7d %d" rows, "TOTAL   n".
 * counter-bpftrace: bpftrace's map printout, "@per_pid[PID]: N" and "@total: N".
 */
export function parseCounter(name: CounterParserName, stdout: string): CounterSnapshot {
  const format = COUNTER_FORMATS[name];
  if (!format) throw new Error(`parse counter: no counter parser named ${JSON.stringify(name)}`);
  const perPid = new Map<number, number>();
  let total: number | undefined;
  for (const text of stdout.split('\n')) {
    const row = format.row.exec(text);
    if (row) perPid.set(Number(row[1]), Number(row[2]));
    const sum = format.total.exec(text);
    if (sum) total = Number(sum[1]);
  }
  if (total === undefined && format.totalRequired) {
    throw new Error('parse counter: no TOTAL line in the output (the tool did not finish: did it get SIGINT?)');
  }
  return { total: total ?? 0, perPid };
}

/** What each workload process should have counted: its execve calls (execveat only if counted). */
export function expectedCounts(run: WorkloadRun, e: CounterExpectations): Map<number, number> {
  const counts = new Map<number, number>();
  for (const t of run.execs) {
    if (t.syscall !== 'execve' && e.execveat === 'not-counted') continue;
    counts.set(t.pid, (counts.get(t.pid) ?? 0) + 1);
  }
  return counts;
}

/**
 * Grades a counter variant exactly: every workload process counted exactly as many times as it called
 * execve, a total at least their sum (other processes on the machine exec too), and — where a variant keeps
 * both maps — a total equal to the sum of every per-process count.
 */
export function gradeCounter(run: WorkloadRun, snap: CounterSnapshot, e: CounterExpectations): Grade {
  const grade = emptyGrade();
  const want = expectedCounts(run, e);
  const idsByPid = new Map<number, string>();
  for (const t of run.execs) if (!t.launcher || !idsByPid.has(t.pid)) idsByPid.set(t.pid, t.id.replace(/:launcher$/, ''));
  if (e.perPid) {
    const cases = new Map<string, CaseMember[]>();
    for (const [pid, n] of want) {
      const got = snap.perPid.get(pid) ?? 0;
      const problems: [string, string][] = got === n ? [] : [['count', `pid ${pid} counted ${got}, expected ${n}`]];
      const expected: [string, string][] =
        e.execveat === 'not-counted' && run.execs.some((t) => t.pid === pid && t.syscall !== 'execve')
          ? [['execveat', `execveat or the 32-bit entry not counted: ${e.why.execveat ?? 'the execve tracepoint does not fire for execveat'}`]]
          : [];
      const verdict = got === n ? 'matched' : got === 0 ? 'missed' : 'differs';
      addMember(cases, idsByPid.get(pid) ?? String(pid), { verdict, expected, problems });
    }
    for (const [id, members] of cases) recordCase(grade, id, members, 'processes');
  }
  if (e.total) {
    const sum = [...want.values()].reduce((a, b) => a + b, 0);
    const problems: [string, string][] = snap.total >= sum ? [] : [['total', `total ${snap.total} < ${sum} workload execve calls`]];
    // both maps are bumped by the same program run: read after detaching, they agree exactly
    const perPidSum = [...snap.perPid.values()].reduce((a, b) => a + b, 0);
    if (e.perPid && perPidSum !== snap.total) problems.push(['total', `total ${snap.total} ≠ ${perPidSum}, the sum of the per-process counts`]);
    const member: CaseMember = { verdict: problems.length ? 'differs' : 'matched', expected: [], problems };
    recordCase(grade, 'total', [member]);
  }
  return grade;
}

/** The counts as `./lab trace` prints them: counter.c's table, or one JSON object. */
export function formatTraceCounts(c: CounterSnapshot, format: 'text' | 'jsonl'): string {
  if (format === 'jsonl') return JSON.stringify({ total: c.total, perPid: Object.fromEntries(c.perPid) });
  return formatCounts(c.total, c.perPid).trimEnd();
}

/** A counter prints only when it stops: its reader collects stdout and parses it at the end. */
function snapshotReader(name: CounterParserName) {
  const lines: string[] = [];
  return {
    line(text: string): CounterSnapshot[] {
      lines.push(text);
      return [];
    },
    end: (): CounterSnapshot[] => [parseCounter(name, lines.join('\n'))],
  };
}

export const counter = defineExample<CounterSnapshot, CounterExpectations, WorkloadRun>({
  name: 'counter',
  description: 'count execve calls in BPF maps: a total in an array, a count per process in a hash',
  variants: VARIANTS,
  ...EXEC_TRUTH,
  workload: runWorkload,
  reader: (v) => snapshotReader(v.parser as CounterParserName),
  owed: () => 0, // nothing to wait for: the counts come when it stops
  grade(run, snaps, v) {
    if (snaps.length === 0) {
      const grade = emptyGrade();
      grade.differences.push({ case: '', level: 'failure', kind: 'output', text: 'printed no counts' });
      return grade;
    }
    return gradeCounter(run, snaps[snaps.length - 1], v.expect);
  },
  format: formatTraceCounts,
  bench: {
    // the counts come at the end: each storm process's count is how many of its execs were seen
    stormSeen: (snaps, storm) => {
      const last = snaps[snaps.length - 1];
      return storm.pids.flatMap((pid, i) => Array.from({ length: last?.perPid.get(pid) ?? 0 }, () => i));
    },
  },
});
