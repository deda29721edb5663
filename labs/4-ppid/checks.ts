// Lab 4's checks: the student's libbpf execsnoop (kernel side, user side, the shared header) is built in
// the grading VM as bpf/Makefile builds ours, runs against the exec workload, and its output is graded as
// our libbpf execsnoop's is (examples/execsnoop): once without the parent pid, once with it. Beside it the
// grader's own user side loads the same kernel side and dumps its raw events, so the kernel side's part
// (the event carries the parent pid) and the user side's (the column prints it) are graded apart.

import type { Lab } from '../../harness/grade/lab.js';
import { attaches, defineTracerLab, fromField, fromView, type TracerReport, type TracerHiddenPart } from '../../harness/grade/tracer-lab.js';
import { libbpfConfig } from '../tracer.js';

// no exec from a thread: the course's execsnoop misses those (lab 6)
const CASES = ['plain', 'three-args', 'failed-enoent', 'shebang'];

const config = {
  ...libbpfConfig({
    cases: CASES,
    views: {
      events: { expect: { ppid: false }, cases: CASES },
      ppid: { expect: { ppid: true }, cases: CASES },
    },
  }),
  // the kernel side graded apart: the grader's own user side dumps the events (harness/grade/event-dump.c)
  eventField: { field: 'ppid' as const, cases: CASES },
};

/** The lab and its visible checks; the grader adds the hidden ones (hidden.ts). */
export const makeLab = (hidden?: TracerHiddenPart): Lab<TracerReport> => defineTracerLab(config, {
  id: '4-ppid',
  title: 'libbpf: the parent pid, kernel side and user side',
  files: ['execsnoop.bpf.c', 'execsnoop.c', 'execsnoop.h'],
  version: 3,
  timeLimitS: 240,
  commandTimeoutS: 150,
  memoryMb: 1024,
  checks: [
    { id: 'attaches', name: 'it builds, the verifier accepts it, it attaches', points: 1, grade: (r) => attaches(r, 1) },
    { id: 'events', name: 'every exec is printed: pid, comm, return value, arguments', points: 3, grade: fromView('events', 3, 'every exec seen, fields right') },
    { id: 'ppid-kernel', name: 'kernel side: every event carries the parent pid', points: 2, grade: fromField('kernel', 2, "the parent pid in every event") },
    { id: 'ppid-user', name: 'user side: the PPID column prints the event\'s parent pid', points: 1, grade: fromField('user', 1, 'the PPID column shows what the event holds') },
    { id: 'ppid', name: 'together: the PPID column holds the parent pid', points: 1, grade: fromView('ppid', 1, 'the parent pid of every exec') },
  ],
}, hidden);
