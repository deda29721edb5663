// hello: the course's first program. On every sys_enter_execve it says "Hello, World!" with the caller's
// process id — through bpf_printk / bpf_trace_printk into the kernel's trace pipe (BCC, libbpf, ts), or
// through bpftrace's printf, which goes through a perf buffer instead. The harness checks that a line
// arrives for each execve the workload made. bpf/hello/ holds the tools.
//
// The trace pipe is one buffer for the whole machine with one reader: every program's bpf_printk lands
// in it, and while one process reads it a second cannot even open it (EBUSY, measured on 5.10, 6.1 and
// 6.18). So the variants that read it are marked `exclusive: 'trace-pipe'` and the session runs them one
// after the other — the reason bpf_printk is for debugging, and real tools use perf or ring buffers.

import { addMember, defineExample, emptyGrade, recordCase, type CaseMember, type Grade } from '../engine/example.js';
import { SYSTEM_PYTHON } from '../engine/tools.js';
import type { WorkloadRun } from './exec-workload.js';
import { ATTACH_MS, type Variant } from '../engine/variant.js';
import { CASES, EXEC_TRUTH, runWorkload, WHY_COURSE_DOORS } from './exec-workload.js';

/** One hello line: the process that called execve. */
export interface HelloLine {
  pid: number;
  /** The line as the tool printed it. */
  text: string;
}

export interface HelloExpectations {
  /** execveat does not fire sys_enter_execve. */
  execveat: 'seen' | 'missed';
  why: Partial<Record<'execveat', string>>;
}

const READY = /^Saying hello on every execve\.\.\. Hit Ctrl-C to end\.$/;
/** bpf_printk's format in every version (bpftrace adds the comm after it). */
const HELLO = /Hello, World! execve pid=(\d+)/;

const EXPECT: HelloExpectations = { execveat: 'missed', why: { execveat: WHY_COURSE_DOORS } };

export const VARIANTS: Variant<HelloExpectations>[] = [
  {
    example: 'hello',
    tool: 'bpftrace',
    description: 'bpftrace printf on sys_enter_execve: a perf buffer, not the trace pipe',
    sources: ['bpf/hello/hello.bt'],
    requires: ['root', 'tracefs', 'tool:bpftrace'],
    command: ['bpftrace', 'bpf/hello/hello.bt'],
    ready: READY,
    parser: 'hello-line',
    attachTimeoutMs: ATTACH_MS.bpftrace,
    expect: EXPECT,
  },
  {
    example: 'hello',
    tool: 'bcc',
    description: 'BCC: bpf_trace_printk in a TRACEPOINT_PROBE, read back with trace_fields() from the trace pipe',
    sources: ['bpf/hello/hello_bcc.c', 'bpf/hello/hello_bcc.py', 'bpf/bcc_load.py'],
    requires: ['root', 'tracefs', 'kernel-headers', 'tool:bcc'],
    command: [SYSTEM_PYTHON, 'bpf/hello/hello_bcc.py'],
    ready: READY,
    parser: 'hello-line',
    attachTimeoutMs: ATTACH_MS.bcc,
    exclusive: 'trace-pipe',
    expect: EXPECT,
  },
  {
    example: 'hello',
    tool: 'libbpf',
    description: 'libbpf: bpf_printk in a CO-RE program, the user side reading the trace pipe',
    sources: ['bpf/hello/hello.bpf.c', 'bpf/hello/hello.c', 'bpf/Makefile'],
    requires: ['root', 'tracefs', 'btf', 'build:libbpf'],
    command: ['build/bpf/hello'],
    ready: READY,
    parser: 'hello-line',
    attachTimeoutMs: ATTACH_MS.libbpf,
    exclusive: 'trace-pipe',
    expect: EXPECT,
  },
  {
    example: 'hello',
    tool: 'ts',
    description: 'raw instructions: the format string built on the BPF stack, bpf_trace_printk, the trace pipe read with node:fs',
    sources: ['bpf/hello/hello.ts', 'bpf/ts/'],
    requires: ['root', 'tracefs'],
    command: ['node', 'build/js/hello.cjs'], // bundled from hello.ts by ./lab
    ready: READY,
    parser: 'hello-line',
    attachTimeoutMs: ATTACH_MS.ts,
    exclusive: 'trace-pipe',
    expect: EXPECT,
  },
];

/** Every hello line of a stream, as it comes; other lines (warnings, other programs' printk) are skipped. */
function helloReader() {
  return {
    line(text: string): HelloLine[] {
      const m = HELLO.exec(text);
      return m ? [{ pid: Number(m[1]), text: text.trim() }] : [];
    },
    end: (): HelloLine[] => [],
  };
}

/** How many hello lines each workload process owes: one per execve it called. */
export function expectedHellos(run: WorkloadRun, e: HelloExpectations): Map<number, number> {
  const due = new Map<number, number>();
  for (const t of run.execs) {
    if (t.syscall !== 'execve' && e.execveat === 'missed') continue;
    due.set(t.pid, (due.get(t.pid) ?? 0) + 1);
  }
  return due;
}

/** Each workload process said hello exactly once per execve; a missing or doubled line fails its case. */
export function gradeHello(run: WorkloadRun, lines: readonly HelloLine[], e: HelloExpectations): Grade {
  const grade = emptyGrade();
  const due = expectedHellos(run, e);
  const seen = new Map<number, number>();
  for (const l of lines) seen.set(l.pid, (seen.get(l.pid) ?? 0) + 1);
  const cases = new Map<string, CaseMember[]>();
  for (const t of run.execs.filter((x) => !x.launcher)) {
    const want = due.get(t.pid) ?? 0;
    const got = seen.get(t.pid) ?? 0;
    const m: CaseMember = { verdict: 'matched', expected: [], problems: [] };
    if (t.syscall !== 'execve' && e.execveat === 'missed') {
      m.expected.push(['execveat', `execveat or the 32-bit entry says no hello: ${e.why.execveat ?? WHY_COURSE_DOORS}`]);
      if (want === 0) m.verdict = 'expected-missing';
    }
    if (got !== want) {
      m.verdict = got < want ? 'missed' : 'differs';
      m.problems.push(['count', `pid ${t.pid} said hello ${got} times, expected ${want}`]);
    }
    addMember(cases, t.id, m);
  }
  for (const [id, members] of cases) recordCase(grade, id, members);
  return grade;
}

/**
 * The exec workload without its thread storm: one line per exec shows nothing more at 600 execs, and the
 * trace-pipe variants each need a run of their own (a round each, see session.ts).
 */
const HELLO_CASES = Object.keys(CASES).filter((id) => id !== 'thread-storm' && id !== 'after-storm');

export const hello = defineExample<HelloLine, HelloExpectations, WorkloadRun>({
  name: 'hello',
  description: 'the course\'s first program: "Hello, World!" on every execve, through the trace pipe',
  variants: VARIANTS,
  ...EXEC_TRUTH,
  workload: (runId) => runWorkload(runId, HELLO_CASES),
  reader: helloReader,
  owed(lines, run, v) {
    const seen = new Map<number, number>();
    for (const l of lines) seen.set(l.pid, (seen.get(l.pid) ?? 0) + 1);
    return [...expectedHellos(run, v.expect)].reduce((sum, [pid, n]) => sum + Math.max(0, n - (seen.get(pid) ?? 0)), 0);
  },
  grade: (run, lines, v) => gradeHello(run, lines, v.expect),
  format: (l, format) => (format === 'jsonl' ? JSON.stringify(l) : l.text),
});
