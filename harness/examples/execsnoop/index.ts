// execsnoop: trace every execve — pid, ppid, comm, return value, arguments — graded exec by exec against
// the exec workload. Its variants (variants.ts), its readers of each tool's output (parse.ts) and its
// grading (grade.ts) are here; bpf/execsnoop/ holds the tools themselves.

import { formatArgBytes } from '../../../bpf/execsnoop/format.js';
import { defineExample } from '../../engine/example.js';
import type { WorkloadRun } from '../exec-workload.js';
import { EXEC_TRUTH, runWorkload } from '../exec-workload.js';
import { expectedAbsence, gradeExecsnoop, shownPid } from './grade.js';
import { createParser, UNREADABLE, unescapeArg, type ExecEvent } from './parse.js';
import { VARIANTS, type ExecsnoopExpectations } from './variants.js';

/** The SYSCALL column: the door as our execsnoop.c prints it, ? for unknown, - for a tool that does not say. */
const doorColumn = (e: ExecEvent): string =>
  (e.filename ? `execveat:${e.filename}` : e.syscall === 'unknown' ? '?' : (e.syscall ?? '-')).padEnd(8);

/**
 * One normalized event as a line: a table row like our execsnoop's (the door in its SYSCALL column; an escaped
 * event's arguments as their bytes, so those that are not UTF-8 show as \xHH inside $'…'), or one JSON object.
 */
export function formatTraceEvent(e: ExecEvent, format: 'text' | 'jsonl'): string {
  if (format === 'jsonl') return JSON.stringify(e);
  const opt = (v: number | undefined) => (v === undefined ? '-' : String(v));
  const unreadable = e.unreadable ? e.args.flatMap((a, i) => (a === UNREADABLE ? [i] : [])) : [];
  const bytes = e.args.map((a) => (e.escaped ? unescapeArg(a) : Buffer.from(a, 'utf8')));
  const args = formatArgBytes(bytes, unreadable) + (e.truncated && !e.args.some((a) => a.endsWith('...')) ? ' ...' : '');
  return `${e.comm.padEnd(16)} ${String(e.pid).padEnd(7)} ${opt(e.ppid).padEnd(7)} ${opt(e.ret).padStart(3)} ${doorColumn(e)} ${args}`;
}

export const execsnoop = defineExample<ExecEvent, ExecsnoopExpectations, WorkloadRun>({
  name: 'execsnoop',
  description: 'trace every execve: PID, PPID, COMM, RET, ARGS',
  variants: VARIANTS,
  ...EXEC_TRUTH,
  workload: runWorkload,
  reader: (v) => createParser(v.parser as Parameters<typeof createParser>[0]),
  // the execs due (by the pid the tool shows) that have no event yet
  owed(events, run, v) {
    const e = v.expect;
    const due = new Map<number, number>();
    for (const x of run.execs) {
      if (!x.launcher && expectedAbsence(x, e) !== undefined) continue;
      const pid = shownPid(x, e);
      due.set(pid, (due.get(pid) ?? 0) + 1);
    }
    const seen = new Map<number, number>();
    for (const ev of events) seen.set(ev.pid, (seen.get(ev.pid) ?? 0) + 1);
    return [...due].reduce((sum, [pid, n]) => sum + Math.max(0, n - (seen.get(pid) ?? 0)), 0);
  },
  grade: (run, events, v, facts) => gradeExecsnoop(run, events, v.expect, facts),
  format: formatTraceEvent,
  bench: {
    // argv is [file, name, I]; a tool showing the filename as argv[0] still shows argv[1] and argv[2]
    stormSeen: (events, storm) =>
      events.flatMap((e) => {
        const at = e.args.indexOf(storm.name);
        return at >= 0 && /^\d+$/.test(e.args[at + 1] ?? '') ? [Number(e.args[at + 1])] : [];
      }),
    isCanary: (e, marker) => e.args.includes(marker),
    streams: true,
  },
});
