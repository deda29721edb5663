// opensnoop: trace every open — pid, tid, comm, the door (open, openat, openat2), flags, mode, the fd or -errno,
// and the path — graded open by open against the open workload (workload.ts), which measures its own truth.
// Its variants (variants.ts), its readers (parse.ts, parse-upstream.ts) and its grading (grade.ts) are here;
// bpf/opensnoop/ holds the tools and the workload's helper.

import { formatRow } from '../../../bpf/opensnoop/format.js';
import { defineExample } from '../../engine/example.js';
import type { OpenEvent } from './events.js';
import { expectedPath, gradeOpensnoop, type OpensnoopExpectations } from './grade.js';
import { createTableReader } from './parse.js';
import { createUpstreamReader, UPSTREAM_HEADERS } from './parse-upstream.js';
import { VARIANTS, type OpensnoopParserName } from './variants.js';
import { runOpenWorkload, type OpenRun } from './workload.js';

/** An event as our opensnoops print it; fields the tool did not print are "-". */
function formatEvent(e: OpenEvent, format: 'text' | 'jsonl'): string {
  if (format === 'jsonl') return JSON.stringify(e);
  if (e.tid !== undefined && e.comm !== undefined && e.syscall && e.flags !== undefined && e.mode !== undefined) {
    return formatRow({ pid: e.pid, tid: e.tid, comm: e.comm, syscall: e.syscall, flags: e.flags, mode: e.mode, ret: e.ret, path: e.path });
  }
  return `${String(e.pid).padEnd(7)} ${(e.comm ?? '-').padEnd(16)} ${String(e.ret).padStart(5)} ${e.path}`;
}

export const opensnoop = defineExample<OpenEvent, OpensnoopExpectations, OpenRun>({
  name: 'opensnoop',
  description: 'trace every open: PID, TID, COMM, SYSCALL, FLAGS, MODE, RET, PATH',
  variants: VARIANTS,
  truth: 'open',
  workload: runOpenWorkload,
  summary: (run) => `${run.opens.reduce((n, t) => n + t.count, 0)} opens`,
  reader(v) {
    const parser = v.parser as OpensnoopParserName;
    if (parser === 'opensnoop-table') return createTableReader();
    // a tool whose ready line is its header: the session keeps that line, so the reader starts after it
    return createUpstreamReader(parser, { afterHeader: v.ready.test(UPSTREAM_HEADERS[parser]) });
  },
  // the opens of a traced door without an event of their path yet (the storm's: as many as it made)
  owed(events, run, v) {
    const shown = new Map<string, number>();
    for (const e of events) shown.set(`${e.pid} ${e.path}`, (shown.get(`${e.pid} ${e.path}`) ?? 0) + 1);
    const due = new Map<string, number>();
    for (const t of run.opens) {
      if (v.expect.doors[t.syscall] === 'missed') continue;
      const k = `${t.pid} ${expectedPath(t, v.expect)}`;
      due.set(k, (due.get(k) ?? 0) + t.count);
    }
    return [...due].reduce((sum, [k, n]) => sum + Math.max(0, n - (shown.get(k) ?? 0)), 0);
  },
  grade: (run, events, v, facts) => gradeOpensnoop(run, events, v.expect, facts),
  format: formatEvent,
});
