// Lab 3's checks: the student's execsnoop.bt runs under bpftrace in the grading VM against the exec
// workload; its output is read and graded as the project's own execsnoop.bt is (examples/execsnoop),
// once without the parent pid and the return value, once with each.

import type { Lab } from '../../harness/grade/lab.js';
import { attaches, defineTracerLab, fromView, type TracerReport, type TracerLabConfig, type TracerHiddenPart } from '../../harness/grade/tracer-lab.js';
import { BPFTRACE, COURSE_BPFTRACE, readyOf } from '../tracer.js';

const VISIBLE = ['plain', 'three-args', 'arg-with-spaces', 'failed-enoent', 'from-thread'];
// hidden: a parent that is itself a non-main thread (its pid is a thread id, the parent pid its tgid)

const config: TracerLabConfig = {
  // as the project's variant runs it: 128-byte arguments, and the BTF named for bpftrace 0.17 on 5.10
  command: ['env', 'BPFTRACE_STRLEN=129', 'BPFTRACE_BTF=/sys/kernel/btf/vmlinux', 'bpftrace', 'execsnoop.bt'],
  ready: readyOf(BPFTRACE),
  parser: BPFTRACE.parser,
  attachTimeoutMs: BPFTRACE.attachTimeoutMs,
  expect: COURSE_BPFTRACE,
  cases: VISIBLE,
  views: {
    events: { expect: { ppid: false, ret: false }, cases: VISIBLE },
    ppid: { expect: { ppid: true, ret: false }, cases: VISIBLE },
    ret: { expect: { ppid: false, ret: true }, cases: VISIBLE },
  },
};

/** The lab and its visible checks; the grader adds the hidden ones (hidden.ts). */
export const makeLab = (hidden?: TracerHiddenPart): Lab<TracerReport> => defineTracerLab(config, {
  id: '3-bpftrace',
  title: 'bpftrace: execsnoop with the parent pid and the return value',
  files: ['execsnoop.bt'],
  version: 2,
  timeLimitS: 240,
  commandTimeoutS: 150,
  memoryMb: 1024,
  checks: [
    { id: 'attaches', name: 'bpftrace runs the script and it attaches', points: 1, grade: (r) => attaches(r, 1) },
    { id: 'events', name: 'every exec is printed: pid, comm, arguments (threads and failed execs too)', points: 3, grade: fromView('events', 3, 'every exec seen, fields right') },
    { id: 'ppid', name: 'exit prints the parent pid', points: 2, grade: fromView('ppid', 2, 'the parent pid of every exec') },
    { id: 'ret', name: "exit prints execve's return value", points: 3, grade: fromView('ret', 3, 'the return value of every exec, failures included') },
  ],
}, hidden);
