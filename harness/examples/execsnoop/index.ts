// execsnoop: trace every execve — pid, ppid, comm, return value, arguments — graded exec by exec against
// the exec workload. Its variants (variants.ts), its readers of each tool's output (parse.ts) and its
// grading (grade.ts) are here; bpf/execsnoop/ holds the tools themselves.

import { formatArgs } from '../../../bpf/execsnoop/format.js';
import { defineExample } from '../../example.js';
import { runWorkload } from '../../workload.js';
import { expectedAbsence, gradeExecsnoop } from './grade.js';
import { createParser, UNREADABLE, type ExecEvent } from './parse.js';
import { VARIANTS, type ExecsnoopExpectations } from './variants.js';

/** One normalized event as a line: a table row like execsnoop's, or one JSON object. */
export function formatTraceEvent(e: ExecEvent, format: 'text' | 'jsonl'): string {
  if (format === 'jsonl') return JSON.stringify(e);
  const opt = (v: number | undefined) => (v === undefined ? '-' : String(v));
  const unreadable = e.unreadable ? e.args.flatMap((a, i) => (a === UNREADABLE ? [i] : [])) : [];
  const args = formatArgs(e.args, unreadable) + (e.truncated && !e.args.some((a) => a.endsWith('...')) ? ' ...' : '');
  return `${e.comm.padEnd(16)} ${String(e.pid).padEnd(7)} ${opt(e.ppid).padEnd(7)} ${opt(e.ret).padStart(3)} ${args}`;
}

export const execsnoop = defineExample<ExecEvent, ExecsnoopExpectations>({
  name: 'execsnoop',
  description: 'trace every execve: PID, PPID, COMM, RET, ARGS',
  variants: VARIANTS,
  workload: runWorkload,
  reader: (v) => createParser(v.parser as Parameters<typeof createParser>[0]),
  // every exec due (by the pid the tool shows) has its event
  complete(events, run, v) {
    const e = v.expect;
    const due = new Map<number, number>();
    for (const x of run.execs) {
      if (!x.launcher && expectedAbsence(x, e) !== undefined) continue;
      const pid = e.threadExec === 'tid' ? x.tid : x.pid;
      due.set(pid, (due.get(pid) ?? 0) + 1);
    }
    const seen = new Map<number, number>();
    for (const ev of events) seen.set(ev.pid, (seen.get(ev.pid) ?? 0) + 1);
    return [...due].every(([pid, n]) => (seen.get(pid) ?? 0) >= n);
  },
  grade: (run, events, v, facts) => gradeExecsnoop(run, events, v.expect, facts),
  format: formatTraceEvent,
});
